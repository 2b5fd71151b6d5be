package fraud

import (
	"fmt"
	"slices"
	"strings"
)

// Floor is a scope's minimum allowance of unverified starts.
type Floor struct {
	Hour int `json:"hour,omitempty"`
	Day  int `json:"day,omitempty"`
}

// Settings are a tenant's fraud settings. A zero field means its default
// (Defaults), so an override can set only some.
type Settings struct {
	// Mode: enforce (default) or shadow.
	Mode Mode `json:"mode,omitempty"`
	// Ratio: the allowance of unverified starts per verified one, now or at
	// the key's 14-day peak; default 1 (a key passes while at least half of
	// its starts convert, or while it stays under its floor).
	Ratio float64 `json:"unverified_ratio,omitempty"`
	// BlockFactor: a value this many times its threshold blocks instead of
	// challenging; default 4.
	BlockFactor float64 `json:"block_factor,omitempty"`
	// Floors per scope: the unverified starts allowed regardless of
	// history (a new tenant, a quiet country). Defaults in DefaultFloors.
	Floors map[Scope]Floor `json:"floors,omitempty"`
	// IPCountriesDay: countries one IP may reach per UTC day; default 3.
	IPCountriesDay int `json:"ip_countries_day,omitempty"`
	// IPDestinationsFloor: distinct destinations one IP may reach per UTC
	// day beyond its approvals × Ratio; default 10.
	IPDestinationsFloor int `json:"ip_destinations_floor,omitempty"`
	// CountryDailySends: SMS and voice sends per UTC day by ISO country
	// ("*" for every country not listed); a start to a country that used
	// its budget is challenged. Default: no budget.
	CountryDailySends map[string]int `json:"country_daily_sends,omitempty"`
}

// DefaultFloors are the built-in floors.
func DefaultFloors() map[Scope]Floor {
	return map[Scope]Floor{
		ScopeCountry:    {Hour: 20, Day: 30},
		ScopeNumberType: {Hour: 20, Day: 30},
		ScopePrefix:     {Hour: 10, Day: 20},
		ScopePrefixLong: {Hour: 6, Day: 12},
		ScopeIP:         {Hour: 10, Day: 20},
	}
}

// Defaults returns the built-in settings.
func Defaults() Settings {
	return Settings{Mode: Enforce, Ratio: 1, BlockFactor: 4, Floors: DefaultFloors(),
		IPCountriesDay: 3, IPDestinationsFloor: 10}
}

// Or returns s with each unset field taken from def (a tenant's settings
// over the deployment's, those over the built-in ones).
func (s Settings) Or(def Settings) Settings {
	if s.Mode == "" {
		s.Mode = def.Mode
	}
	if s.Ratio <= 0 {
		s.Ratio = def.Ratio
	}
	if s.BlockFactor <= 0 {
		s.BlockFactor = def.BlockFactor
	}
	floors := make(map[Scope]Floor, len(Scopes))
	for _, sc := range Scopes {
		f, d := s.Floors[sc], def.Floors[sc]
		if f.Hour <= 0 {
			f.Hour = d.Hour
		}
		if f.Day <= 0 {
			f.Day = d.Day
		}
		floors[sc] = f
	}
	s.Floors = floors
	if s.IPCountriesDay <= 0 {
		s.IPCountriesDay = def.IPCountriesDay
	}
	if s.IPDestinationsFloor <= 0 {
		s.IPDestinationsFloor = def.IPDestinationsFloor
	}
	if s.CountryDailySends == nil {
		s.CountryDailySends = def.CountryDailySends
	}
	return s
}

// IsZero reports whether no setting is set.
func (s Settings) IsZero() bool {
	return s.Mode == "" && s.Ratio == 0 && s.BlockFactor == 0 && len(s.Floors) == 0 && s.IPCountriesDay == 0 &&
		s.IPDestinationsFloor == 0 && len(s.CountryDailySends) == 0
}

// Validate reports a setting that cannot be meant.
func (s Settings) Validate() error {
	if s.Mode != "" && !slices.Contains(Modes, s.Mode) {
		return fmt.Errorf("fraud: mode %q is not one of enforce, shadow", s.Mode)
	}
	for sc := range s.Floors {
		if !slices.Contains(Scopes, sc) {
			return fmt.Errorf("fraud: floors: unknown scope %q", sc)
		}
	}
	for c, n := range s.CountryDailySends {
		if n < 0 || (c != "*" && (len(c) != 2 || strings.ToUpper(c) != c) && c != "001") {
			return fmt.Errorf("fraud: country_daily_sends: %q: %d (want an upper-case ISO code or \"*\", and a budget ≥ 0)", c, n)
		}
	}
	return nil
}

// budget is the country's daily send budget, 0 for none.
func (s Settings) budget(country string) int {
	if n, ok := s.CountryDailySends[country]; ok {
		return n
	}
	return s.CountryDailySends["*"]
}
