package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/fraud"
	"github.com/veriflow/veriflow/internal/guard/limits"
	"github.com/veriflow/veriflow/internal/policy"
)

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
	// Prices and PriceCurrency are the analytics' price table (see Prices).
	Prices        map[string]map[string]map[string]float64 `json:"prices"`
	PriceCurrency string                                   `json:"price_currency"`
	// Fraud is the deployment's fraud-engine settings (see fraud.Settings).
	Fraud fraud.Settings `json:"fraud"`
}

type tenantFile struct {
	Channels         map[string]string                 `json:"channels"`
	Policies         map[contract.Kind]policy.Settings `json:"policies"`
	Limits           limits.Limits                     `json:"limits"`
	AllowedCountries []string                          `json:"allowed_countries"`
	// Fraud overrides the deployment's fraud-engine settings.
	Fraud fraud.Settings `json:"fraud"`
	// DisplayName, WebOrigin and AndroidAppHash are the tenant's branding
	// (see Branding).
	DisplayName    string `json:"display_name"`
	WebOrigin      string `json:"web_origin"`
	AndroidAppHash string `json:"android_app_hash"`
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
	a := Abuse{Default: limits.Policy{Limits: f.Limits, AllowedCountries: f.AllowedCountries}, Tenants: map[string]limits.Policy{},
		Fraud: f.Fraud, TenantFraud: map[string]fraud.Settings{}}
	for t, tf := range f.Tenants {
		if tf.Limits != (limits.Limits{}) || len(tf.AllowedCountries) > 0 {
			a.Tenants[t] = limits.Policy{Limits: tf.Limits, AllowedCountries: tf.AllowedCountries}
		}
		if !tf.Fraud.IsZero() {
			a.TenantFraud[t] = tf.Fraud
		}
	}
	return a
}

// Abuse holds the rate limits and fraud guards: the deployment's and the
// tenants' overrides.
type Abuse struct {
	Default limits.Policy
	Tenants map[string]limits.Policy
	// Fraud is the deployment's fraud-engine settings, TenantFraud the
	// tenants' overrides (unset fields: the deployment's, then the
	// built-in defaults).
	Fraud       fraud.Settings
	TenantFraud map[string]fraud.Settings
}

// FraudFor returns a tenant's fraud-engine settings, defaults filled in.
func (a Abuse) FraudFor(tenant string) fraud.Settings {
	return a.TenantFraud[tenant].Or(a.Fraud.Or(fraud.Defaults()))
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

// validate reports fraud settings that cannot be meant.
func (a Abuse) validate() []error {
	var errs []error
	if err := a.Fraud.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("fraud (or VERIFLOW_FRAUD_MODE): %w", err))
	}
	for t, s := range a.TenantFraud {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("tenants.%s.fraud: %w", t, err))
		}
	}
	return errs
}
