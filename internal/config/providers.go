package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/guard/limits"
	"github.com/veriflow/veriflow/internal/policy"
)

// Twilio configures the Twilio adapter (SMS and WhatsApp).
type Twilio struct {
	AccountSID          string // TWILIO_ACCOUNT_SID
	AuthToken           string // TWILIO_AUTH_TOKEN
	AuthTokenSecondary  string // TWILIO_AUTH_TOKEN_SECONDARY (accepted on webhooks during rotation)
	MessagingServiceSID string // TWILIO_MESSAGING_SERVICE_SID
	From                string // TWILIO_FROM (SMS sender, E.164)
	WhatsAppFrom        string // TWILIO_WHATSAPP_FROM ("whatsapp:+E164")
	ContentSID          string // TWILIO_WHATSAPP_CONTENT_SID (approved authentication template)
}

// Enabled reports whether Twilio credentials are set.
func (t Twilio) Enabled() bool { return t.AccountSID != "" && t.AuthToken != "" }

// Meta configures the WhatsApp Cloud API adapter.
type Meta struct {
	PhoneNumberID        string // META_PHONE_NUMBER_ID
	AccessToken          string // META_ACCESS_TOKEN
	AppSecret            string // META_APP_SECRET (webhook signatures)
	VerifyToken          string // META_VERIFY_TOKEN (webhook challenge)
	TemplateName         string // META_TEMPLATE_NAME
	APIVersion           string // META_API_VERSION
	BaseURL              string // META_BASE_URL
	AndroidPackageName   string // META_ANDROID_PACKAGE
	AndroidSignatureHash string // META_ANDROID_SIGNATURE_HASH
}

// Enabled reports whether the Cloud API credentials are set.
func (m Meta) Enabled() bool { return m.PhoneNumberID != "" && m.AccessToken != "" }

// SMTP configures the email adapter.
type SMTP struct {
	Host     string // SMTP_HOST
	Port     int    // SMTP_PORT
	Username string // SMTP_USERNAME
	Password string // SMTP_PASSWORD
	TLS      string // SMTP_TLS: starttls (default), tls, none
	From     string // SMTP_FROM
	ReplyTo  string // SMTP_REPLY_TO
}

// Enabled reports whether an SMTP server is configured.
func (s SMTP) Enabled() bool { return s.Host != "" }

// Providers is the delivery configuration of a deployment.
type Providers struct {
	// PublicBaseURL is where providers reach Veriflow's webhooks
	// (VERIFLOW_PUBLIC_BASE_URL), e.g. https://verify.example.com.
	PublicBaseURL string
	Twilio        Twilio
	Meta          Meta
	SMTP          SMTP
	// Channels maps each channel to the provider serving it
	// (VERIFLOW_CHANNEL_WHATSAPP, VERIFLOW_CHANNEL_SMS, VERIFLOW_CHANNEL_EMAIL);
	// unset channels get a default from what is configured.
	Channels map[string]string
	// Tenants overrides Channels per tenant (config file only).
	Tenants map[string]map[string]string
}

// file is the optional config file (VERIFLOW_CONFIG_FILE): any environment
// variable under "env" (the real environment wins), the deployment's
// per-kind policies, and per tenant its channel routing and policies.
type file struct {
	Env      map[string]string                 `json:"env"`
	Policies map[contract.Kind]policy.Settings `json:"policies"`
	// Limits and AllowedCountries are the deployment's abuse policy.
	Limits           limits.Limits         `json:"limits"`
	AllowedCountries []string              `json:"allowed_countries"`
	Tenants          map[string]tenantFile `json:"tenants"`
}

type tenantFile struct {
	Channels         map[string]string                 `json:"channels"`
	Policies         map[contract.Kind]policy.Settings `json:"policies"`
	Limits           limits.Limits                     `json:"limits"`
	AllowedCountries []string                          `json:"allowed_countries"`
}

// readFile reads the config file named by VERIFLOW_CONFIG_FILE, if any.
func readFile(getenv func(string) string) (file, error) {
	path := getenv("VERIFLOW_CONFIG_FILE")
	if path == "" {
		return file{}, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return file{}, fmt.Errorf("VERIFLOW_CONFIG_FILE: %w", err)
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return file{}, fmt.Errorf("VERIFLOW_CONFIG_FILE %s: %w", path, err)
	}
	return f, nil
}

// lookup layers the real environment over the file's "env".
func (f file) lookup(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return f.Env[k]
	}
}

// routes and policies split the file's tenant entries.
func (f file) routes() map[string]map[string]string {
	out := map[string]map[string]string{}
	for t, tf := range f.Tenants {
		if len(tf.Channels) > 0 {
			out[t] = tf.Channels
		}
	}
	return out
}

// abuse returns the deployment's and tenants' abuse policies.
func (f file) abuse() Abuse {
	a := Abuse{Default: limits.Policy{Limits: f.Limits, AllowedCountries: f.AllowedCountries}, Tenants: map[string]limits.Policy{}}
	for t, tf := range f.Tenants {
		if tf.Limits != (limits.Limits{}) || len(tf.AllowedCountries) > 0 {
			a.Tenants[t] = limits.Policy{Limits: tf.Limits, AllowedCountries: tf.AllowedCountries}
		}
	}
	return a
}

// Abuse holds the rate limits and fraud guards: the deployment's and the
// tenants' overrides.
type Abuse struct {
	Default limits.Policy
	Tenants map[string]limits.Policy
}

// PolicyFor returns a tenant's abuse policy: its own limits, each unset one
// taken from the deployment's (and then from the built-in defaults); its own
// country list, else the deployment's.
func (a Abuse) PolicyFor(tenant string) limits.Policy {
	p, ok := a.Tenants[tenant]
	if !ok {
		return a.Default
	}
	p.Limits = p.Limits.Or(a.Default.Limits)
	if len(p.AllowedCountries) == 0 {
		p.AllowedCountries = a.Default.AllowedCountries
	}
	return p
}

func (f file) policies() policy.Config {
	c := policy.Config{Deployment: f.Policies, Tenants: map[string]map[contract.Kind]policy.Settings{}}
	for t, tf := range f.Tenants {
		if len(tf.Policies) > 0 {
			c.Tenants[t] = tf.Policies
		}
	}
	return c
}

// Provider names usable in channel routing.
const (
	ProviderTwilio = "twilio"
	ProviderMeta   = "meta"
	ProviderSMTP   = "smtp"
)

func providersFromEnv(get func(string) string, tenants map[string]map[string]string) (Providers, error) {
	p := Providers{
		PublicBaseURL: strings.TrimRight(get("VERIFLOW_PUBLIC_BASE_URL"), "/"),
		Twilio: Twilio{
			AccountSID: get("TWILIO_ACCOUNT_SID"), AuthToken: get("TWILIO_AUTH_TOKEN"), AuthTokenSecondary: get("TWILIO_AUTH_TOKEN_SECONDARY"),
			MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"), From: get("TWILIO_FROM"),
			WhatsAppFrom: get("TWILIO_WHATSAPP_FROM"), ContentSID: get("TWILIO_WHATSAPP_CONTENT_SID"),
		},
		Meta: Meta{
			PhoneNumberID: get("META_PHONE_NUMBER_ID"), AccessToken: get("META_ACCESS_TOKEN"), AppSecret: get("META_APP_SECRET"),
			VerifyToken: get("META_VERIFY_TOKEN"), TemplateName: get("META_TEMPLATE_NAME"), APIVersion: get("META_API_VERSION"),
			BaseURL: get("META_BASE_URL"), AndroidPackageName: get("META_ANDROID_PACKAGE"), AndroidSignatureHash: get("META_ANDROID_SIGNATURE_HASH"),
		},
		SMTP: SMTP{
			Host: get("SMTP_HOST"), Username: get("SMTP_USERNAME"), Password: get("SMTP_PASSWORD"),
			TLS: get("SMTP_TLS"), From: get("SMTP_FROM"), ReplyTo: get("SMTP_REPLY_TO"),
		},
		Channels: map[string]string{},
		Tenants:  tenants,
	}
	var errs []error
	if v := get("SMTP_PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port <= 0 || port > 65535 {
			errs = append(errs, fmt.Errorf("SMTP_PORT: %q is not a port", v))
		}
		p.SMTP.Port = port
	}
	if p.SMTP.TLS == "" {
		p.SMTP.TLS = "starttls"
	}
	if p.SMTP.Port == 0 {
		p.SMTP.Port = map[string]int{"tls": 465, "starttls": 587, "none": 25}[p.SMTP.TLS]
	}
	// Default routing: WhatsApp over Meta when configured, else over Twilio
	// with a content template; SMS over Twilio; email over SMTP.
	if p.Meta.Enabled() {
		p.Channels["whatsapp"] = ProviderMeta
	} else if p.Twilio.Enabled() && p.Twilio.ContentSID != "" {
		p.Channels["whatsapp"] = ProviderTwilio
	}
	if p.Twilio.Enabled() {
		p.Channels["sms"] = ProviderTwilio
	}
	if p.SMTP.Enabled() {
		p.Channels["email"] = ProviderSMTP
	}
	for _, ch := range []string{"whatsapp", "sms", "email"} {
		if v := get("VERIFLOW_CHANNEL_" + strings.ToUpper(ch)); v != "" {
			p.Channels[ch] = v
		}
	}
	errs = append(errs, p.validateRouting()...)
	return p, errors.Join(errs...)
}

// servedChannels lists the channels a provider can send.
func servedChannels(provider string) ([]string, bool) {
	switch provider {
	case ProviderTwilio:
		return []string{"whatsapp", "sms"}, true
	case ProviderMeta:
		return []string{"whatsapp"}, true
	case ProviderSMTP:
		return []string{"email"}, true
	}
	return nil, false
}

func (p Providers) validateRouting() []error {
	var errs []error
	check := func(where, ch, prov string) {
		channels, ok := servedChannels(prov)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: unknown provider %q for %s (twilio, meta, smtp)", where, prov, ch))
		case !slices.Contains(channels, ch):
			errs = append(errs, fmt.Errorf("%s: provider %s cannot send %s", where, prov, ch))
		}
	}
	for ch, prov := range p.Channels {
		check("channel routing", ch, prov)
	}
	for tenant, routes := range p.Tenants {
		for ch, prov := range routes {
			check("tenant "+tenant, ch, prov)
		}
	}
	return errs
}
