// Package limits holds the abuse policy's pure data: a tenant's rate
// limits and allowed countries, with their defaults. It has no storage in
// it, so the configuration can read policies without a database driver;
// package guard enforces them.
package limits

// Limits are the rate limits of a tenant. A zero (or negative) field means
// its default (Default), so a tenant's override can set only some.
type Limits struct {
	// PerDestination10Min: starts per phone or email destination per 10
	// minutes; default 5.
	PerDestination10Min int `json:"per_destination_10min,omitempty"`
	// PerDestinationDay: starts per destination per day; default 20.
	PerDestinationDay int `json:"per_destination_day,omitempty"`
	// PerClientIP10Min: starts per client IP (IPv6: per /64) per 10
	// minutes; default 20.
	PerClientIP10Min int `json:"per_client_ip_10min,omitempty"`
	// PerTenantMinute: starts per tenant per minute; default 600.
	PerTenantMinute int `json:"per_tenant_minute,omitempty"`
	// FailedChecksPerDestinationHour: failed checks per destination across
	// all of its verifications per hour; default 10.
	FailedChecksPerDestinationHour int `json:"failed_checks_per_destination_hour,omitempty"`
	// PrefixBurst is the velocity guard: starts to one country code plus
	// the first three national digits per 5 minutes; default 30.
	PrefixBurst int `json:"prefix_burst,omitempty"`
}

// Default returns the built-in limits.
func Default() Limits {
	return Limits{
		PerDestination10Min:            5,
		PerDestinationDay:              20,
		PerClientIP10Min:               20,
		PerTenantMinute:                600,
		FailedChecksPerDestinationHour: 10,
		PrefixBurst:                    30,
	}
}

// Or returns l with each unset (zero or negative) field taken from def:
// a tenant's limits over the deployment's, those over the built-in ones.
func (l Limits) Or(def Limits) Limits {
	fill := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	fill(&l.PerDestination10Min, def.PerDestination10Min)
	fill(&l.PerDestinationDay, def.PerDestinationDay)
	fill(&l.PerClientIP10Min, def.PerClientIP10Min)
	fill(&l.PerTenantMinute, def.PerTenantMinute)
	fill(&l.FailedChecksPerDestinationHour, def.FailedChecksPerDestinationHour)
	fill(&l.PrefixBurst, def.PrefixBurst)
	return l
}

// Policy is a tenant's abuse policy.
type Policy struct {
	// Limits are the tenant's rate limits (zero fields: the defaults).
	Limits Limits `json:"limits"`
	// AllowedCountries are the ISO 3166 alpha-2 codes of the countries
	// whose phone numbers may receive codes; empty allows all countries
	// (but not NonGeographic numbers, which must be listed to be allowed).
	AllowedCountries []string `json:"allowed_countries,omitempty"`
}

// DefaultPolicy is the policy of a tenant with no overrides.
func DefaultPolicy() Policy { return Policy{Limits: Default()} }
