// Package messages renders the text of code messages. This first version
// speaks English; every message names what is approved (for transactions
// and signatures), how long the code lasts, and says never to share it.
package messages

import (
	"fmt"
	"time"

	"github.com/veriflow/veriflow/contract"
)

// Input is what a message is made of.
type Input struct {
	Kind        contract.Kind
	Locale      string
	Code        string
	TTL         time.Duration
	Transaction *contract.Transaction
	Document    *contract.Document
}

// Render returns the text of a code message.
func Render(in Input) string {
	minutes := max(int((in.TTL+time.Minute-1)/time.Minute), 1)
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	var what string
	switch in.Kind {
	case contract.KindTransaction:
		if tx := in.Transaction; tx != nil {
			what = fmt.Sprintf(" to approve the payment of %s %s to %s", tx.Currency, tx.Amount, tx.Payee)
		}
	case contract.KindSignature:
		if d := in.Document; d != nil {
			what = fmt.Sprintf(" to sign %q", d.Title)
		}
	case contract.KindPasswordReset:
		what = " to reset your password"
	case contract.KindTwoFactor:
		what = " to sign in"
	case contract.KindSignup:
		what = " to confirm your sign-up"
	}
	return fmt.Sprintf("Your verification code is %s%s. It expires in %d %s. Never share this code with anyone.",
		in.Code, what, minutes, unit)
}
