package codec

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DataConverter returns the default data converter wrapped with the
// encrypting Codec over k: every payload it produces is encrypted and every
// encrypted payload it reads is decrypted. Use it as
// client.Options.DataConverter of every Veriflow client and worker. It panics
// like NewCodec for a keyring without keys.
func DataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewCodec(k))
}

// FailureConverter returns the default failure converter with
// EncodeCommonAttributes over the encrypting DataConverter: failure messages
// and stack traces are moved into an encrypted payload (the history shows
// "Encoded failure"), so error text, which may hold masked destinations,
// never reaches history in plaintext. Use it as
// client.Options.FailureConverter next to DataConverter.
func FailureConverter(k *Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          DataConverter(k),
		EncodeCommonAttributes: true,
	})
}
