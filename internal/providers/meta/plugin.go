package meta

import (
	"errors"
	"fmt"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/providers"
)

// WebhookPath is the path of the Cloud API's webhook: GET for the
// subscription challenge, POST for notifications.
const WebhookPath = "/webhooks/whatsapp"

// Plugin registers the WhatsApp Cloud API.
func Plugin() providers.Plugin {
	return providers.Plugin{
		Name:     Name,
		Channels: []contract.Channel{contract.ChannelWhatsApp},
		Load:     load,
	}
}

// load is the plug-in's Load.
func load(get func(string) string) (providers.Settings, error) {
	var errs []error
	for _, k := range []string{"META_ZERO_TAP_TERMS_ACCEPTED", "META_TEMPLATE_SECURITY_RECOMMENDATION"} {
		if v := get(k); v != "" && v != "true" && v != "false" {
			errs = append(errs, fmt.Errorf("%s must be true or false, not %q", k, v))
		}
	}
	if b := ButtonType(get("META_TEMPLATE_BUTTON")); b != "" && !b.Valid() {
		errs = append(errs, fmt.Errorf("META_TEMPLATE_BUTTON must be one of %v, not %q", ButtonTypes(), b))
	}
	return ConfigFromEnv(get), errors.Join(errs...)
}

// ConfigFromEnv reads the META_* variables with get. The sender's settings
// are validated when it is built (Validate).
func ConfigFromEnv(get func(string) string) Config {
	return Config{
		PhoneNumberID:        get("META_PHONE_NUMBER_ID"),
		AccessToken:          get("META_ACCESS_TOKEN"),
		AppSecret:            get("META_APP_SECRET"),
		VerifyToken:          get("META_VERIFY_TOKEN"),
		TemplateName:         get("META_TEMPLATE_NAME"),
		APIVersion:           get("META_API_VERSION"),
		BaseURL:              get("META_BASE_URL"),
		AndroidPackageName:   get("META_ANDROID_PACKAGE"),
		AndroidSignatureHash: get("META_ANDROID_SIGNATURE_HASH"),
		WABAID:               get("META_WABA_ID"),
		TemplateButton:       ButtonType(get("META_TEMPLATE_BUTTON")),
		ZeroTapTermsAccepted: get("META_ZERO_TAP_TERMS_ACCEPTED") == "true",
		// The security recommendation is on unless explicitly off.
		NoSecurityRecommendation: get("META_TEMPLATE_SECURITY_RECOMMENDATION") == "false",
	}
}

// Enabled implements providers.Settings: the Cloud API credentials are set.
func (c Config) Enabled() bool { return c.PhoneNumberID != "" && c.AccessToken != "" }

// DefaultChannels implements providers.Settings: WhatsApp.
func (c Config) DefaultChannels() []contract.Channel {
	if !c.Enabled() {
		return nil
	}
	return []contract.Channel{contract.ChannelWhatsApp}
}

// Sender implements providers.Settings.
func (c Config) Sender(env providers.Env) (providers.Provider, error) {
	c.Log = env.Log
	if env.HTTPClient != nil {
		c.HTTPClient = env.HTTPClient
	}
	p, err := New(c)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Webhook implements providers.Settings: the notification endpoint, on
// when AppSecret is set, and the subscription challenge, on when
// VerifyToken is set.
func (c Config) Webhook(env providers.Env) providers.Webhook {
	w := &webhook{appSecret: c.AppSecret, verifyToken: c.VerifyToken}
	w.endpoint.Name, w.endpoint.Log, w.endpoint.Receipts = "whatsapp", env.Log, env.Receipts
	return w
}
