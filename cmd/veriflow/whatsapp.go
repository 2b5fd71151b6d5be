package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
	"github.com/veriflow/veriflow/internal/policy"
	"github.com/veriflow/veriflow/internal/providers/meta"
)

// whatsappCommands are the WhatsApp commands of the command table.
func whatsappCommands() []command {
	return []command{
		{
			name: "whatsapp", usage: "whatsapp <command> [flags]",
			summary: "manage the WhatsApp authentication template",
			desc: "Manages the WhatsApp Cloud API authentication template that Veriflow sends codes with " +
				"(META_TEMPLATE_NAME), through Meta's Graph API, in every language Veriflow sends in. " +
				"Needs META_WABA_ID and META_ACCESS_TOKEN.",
			examples: []string{"veriflow whatsapp template sync", "veriflow whatsapp template show"},
		},
		{
			name: "whatsapp template", usage: "whatsapp template create|sync|show [flags]", config: true,
			summary: "create, sync or show the WhatsApp authentication template",
			desc: "Builds the authentication template exactly as Meta defines it: the fixed body (\"<code> is " +
				"your verification code.\") with the security recommendation unless " +
				"META_TEMPLATE_SECURITY_RECOMMENDATION=false, the expiry footer, and one OTP button: " +
				"copy_code, or one_tap / zero_tap for the Android app of META_ANDROID_PACKAGE and " +
				"META_ANDROID_SIGNATURE_HASH (zero_tap also needs META_ZERO_TAP_TERMS_ACCEPTED=true). Its " +
				"message_send_ttl_seconds is the longest WhatsApp channel timeout of the deployment's " +
				"policies, within Meta's 30 s to 15 min, so a WhatsApp code is not delivered long after " +
				"Veriflow failed over. create submits every language (en_US, it, es, de, fr, pt_BR); sync " +
				"creates the missing ones and edits those that differ; show prints each language's review " +
				"status and definition. Needs META_WABA_ID, META_ACCESS_TOKEN and META_TEMPLATE_NAME " +
				"(META_BASE_URL and META_API_VERSION as for sending).",
			examples: []string{
				"veriflow whatsapp template create",
				"veriflow whatsapp template sync --button one_tap --code-expiration 10",
				"veriflow whatsapp template sync --dry-run",
				"veriflow whatsapp template show",
			},
			flags: func(fs *flag.FlagSet) action {
				button := fs.String("button", "", "OTP button: copy_code, one_tap or zero_tap (default META_TEMPLATE_BUTTON, "+
					"else one_tap with an Android app, else copy_code)")
				expiry := fs.String("code-expiration", "auto", "expiry footer: auto (the shortest code TTL of the "+
					"kinds sending over WhatsApp), none, or `MINUTES` (1-90)")
				zeroTap := fs.Bool("accept-zero-tap-terms", false, "accept Meta's zero-tap terms (as META_ZERO_TAP_TERMS_ACCEPTED=true)")
				dryRun := fs.Bool("dry-run", false, "print the request bodies of create or sync; send nothing")
				return func(ctx context.Context, e env, args []string) error {
					if len(args) != 1 || !slices.Contains([]string{"create", "sync", "show"}, args[0]) {
						return usageError("needs one of create, sync or show")
					}
					mc, ok := e.cfg.Providers.Settings[meta.Name].(meta.Config)
					if !ok {
						return errors.New("the meta provider is not registered")
					}
					tp, err := planTemplate(mc, e.cfg.Policies, *button, *expiry, *zeroTap)
					var ue usageError
					if err != nil && (args[0] != "show" || errors.As(err, &ue)) {
						return err // show compares with what it can, unless the command line is wrong
					}
					w := templateCmd{out: e.out, plan: tp, planErr: err}
					if *dryRun {
						if args[0] == "show" {
							return usageError("--dry-run is for create and sync")
						}
						return w.dryRun()
					}
					if w.client, err = meta.NewTemplateClient(mc); err != nil {
						return err
					}
					switch args[0] {
					case "create":
						return w.create(ctx)
					case "sync":
						return w.sync(ctx)
					}
					return w.show(ctx)
				}
			},
		},
	}
}

// templatePlan is the template the configuration asks for.
type templatePlan struct {
	cfg   meta.Config // with the button, footer and time-to-live decided
	notes []string    // how they were decided
}

// templates returns the template in every language Veriflow sends in.
func (p templatePlan) templates() []meta.Template {
	var out []meta.Template
	for _, lang := range meta.TemplateLanguages(p.cfg) {
		out = append(out, meta.TemplateDefinition(p.cfg, lang))
	}
	return out
}

// planTemplate decides the button (flag over configuration), the expiry
// footer (auto, none or minutes) and the time-to-live (the deployment's
// WhatsApp channel timeout, clamped to Meta's range) and checks the result.
func planTemplate(mc meta.Config, pol policy.Config, button, expiry string, acceptZeroTap bool) (templatePlan, error) {
	p := templatePlan{cfg: mc}
	if button != "" {
		if !meta.ButtonType(button).Valid() {
			return p, usageError(fmt.Sprintf("--button must be one of %v, not %q", meta.ButtonTypes(), button))
		}
		p.cfg.TemplateButton = meta.ButtonType(button)
	}
	p.cfg.ZeroTapTermsAccepted = mc.ZeroTapTermsAccepted || acceptZeroTap
	timeout, codeTTL, where := whatsappPolicies(pol)
	switch expiry {
	case "auto":
		minutes := min(max(int(codeTTL/time.Minute), 1), meta.MaxCodeExpirationMinutes)
		p.cfg.CodeExpirationMinutes = minutes
		p.notes = append(p.notes, fmt.Sprintf("footer: code expires in %d min (the shortest code TTL of the kinds sending over WhatsApp, %s)", minutes, codeTTL))
	case "none":
		p.cfg.CodeExpirationMinutes = 0
		p.notes = append(p.notes, "footer: none")
	default:
		n, err := strconv.Atoi(expiry)
		if err != nil || n < 1 || n > meta.MaxCodeExpirationMinutes {
			return p, usageError(fmt.Sprintf("--code-expiration must be auto, none or 1 to %d minutes, not %q", meta.MaxCodeExpirationMinutes, expiry))
		}
		p.cfg.CodeExpirationMinutes = n
		p.notes = append(p.notes, fmt.Sprintf("footer: code expires in %d min (--code-expiration)", n))
	}
	secs := int(timeout / time.Second)
	ttl, clamped := meta.ClampMessageSendTTL(secs)
	p.cfg.MessageSendTTLSeconds = ttl
	note := fmt.Sprintf("message_send_ttl_seconds: %d (the longest WhatsApp channel timeout, %d s, %s)", ttl, secs, where)
	if clamped {
		note += fmt.Sprintf("; clamped to Meta's %d-%d s for authentication templates", meta.MinMessageSendTTLSeconds, meta.MaxMessageSendTTLSeconds)
	}
	p.notes = append(p.notes, note)
	if longer := tenantLongerTimeouts(pol, timeout); len(longer) > 0 {
		p.notes = append(p.notes, "note: longer WhatsApp channel timeouts of tenants ("+strings.Join(longer, ", ")+
			") are cut short by the template's time-to-live: Meta stops trying before Veriflow fails over")
	}
	p.notes = append(p.notes, fmt.Sprintf("button: %s", p.cfg.Button()))
	if err := p.cfg.ValidateTemplate(); err != nil {
		return p, err
	}
	return p, nil
}

// whatsappPolicies resolves the deployment's policy of every kind that
// sends over WhatsApp and returns the longest channel timeout (and where it
// comes from) and the shortest code TTL. When no kind uses WhatsApp it
// returns the default channel timeout and code TTL.
func whatsappPolicies(pol policy.Config) (timeout, codeTTL time.Duration, where string) {
	for _, k := range contract.Kinds() {
		p := pol.Resolve("", k, policy.Settings{})
		if !slices.Contains(p.Plan.Channels, contract.ChannelWhatsApp) {
			continue
		}
		if p.Plan.StepTimeout > timeout {
			timeout, where = p.Plan.StepTimeout, "kind "+string(k)
		}
		if codeTTL == 0 || p.Code.TTL < codeTTL {
			codeTTL = p.Code.TTL
		}
	}
	if timeout == 0 {
		return policy.DefaultStepWait, policy.Default(contract.KindSignup).Code.TTL, "the default; no kind sends over WhatsApp"
	}
	return timeout, codeTTL, where
}

// tenantLongerTimeouts lists the tenants' kinds (config file) whose
// WhatsApp channel timeout is longer than limit.
func tenantLongerTimeouts(pol policy.Config, limit time.Duration) []string {
	var out []string
	for tenant := range pol.Tenants {
		for _, k := range contract.Kinds() {
			p := pol.Resolve(tenant, k, policy.Settings{})
			if slices.Contains(p.Plan.Channels, contract.ChannelWhatsApp) && p.Plan.StepTimeout > limit {
				out = append(out, fmt.Sprintf("%s %s %s", tenant, k, p.Plan.StepTimeout))
			}
		}
	}
	slices.Sort(out)
	return out
}

// templateCmd runs the template commands.
type templateCmd struct {
	out     io.Writer
	plan    templatePlan
	planErr error // show still works with a configuration it cannot build
	client  *meta.TemplateClient
}

func (w templateCmd) header() {
	fmt.Fprintf(w.out, "template %s (WhatsApp Business Account %s)\n", w.plan.cfg.TemplateName, w.plan.cfg.WABAID)
	for _, n := range w.plan.notes {
		fmt.Fprintf(w.out, "  %s\n", n)
	}
}

func (w templateCmd) dryRun() error {
	w.header()
	for _, t := range w.plan.templates() {
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", t.Language, err)
		}
		fmt.Fprintf(w.out, "%s\n", b)
	}
	return nil
}

// create submits every language; a language Meta refuses (one that exists
// already, say) does not stop the others.
func (w templateCmd) create(ctx context.Context) error {
	w.header()
	tw := tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
	var errs []error
	for _, t := range w.plan.templates() {
		c, err := w.client.Create(ctx, t)
		if err != nil {
			fmt.Fprintf(tw, "%s\tfailed\n", t.Language)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(tw, "%s\tcreated\tid %s\t%s\n", t.Language, c.ID, c.Status)
	}
	_ = tw.Flush() // w.out is a terminal or a buffer
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d languages failed (sync edits existing ones): %w", len(errs), len(w.plan.templates()), errors.Join(errs...))
	}
	return nil
}

// editable reports whether Meta lets a template in status be edited.
func editable(status string) bool {
	return status == "APPROVED" || status == "REJECTED" || status == "PAUSED"
}

// sync creates the missing languages and edits those whose definition
// differs.
func (w templateCmd) sync(ctx context.Context) error {
	w.header()
	remote, err := w.client.List(ctx, w.plan.cfg.TemplateName)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
	defer func() { _ = tw.Flush() }() // w.out is a terminal or a buffer
	var errs []error
	for _, t := range w.plan.templates() {
		r, found := findLanguage(remote, t.Language)
		if !found {
			c, err := w.client.Create(ctx, t)
			if err != nil {
				fmt.Fprintf(tw, "%s\tcreate failed\n", t.Language)
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(tw, "%s\tcreated\tid %s\t%s\n", t.Language, c.ID, c.Status)
			continue
		}
		diff := t.Definition().Diff(r.Definition())
		switch {
		case r.Category != meta.CategoryAuthentication:
			fmt.Fprintf(tw, "%s\twrong category\tid %s\t%s\n", t.Language, r.ID, r.Category)
			errs = append(errs, fmt.Errorf("%s: template %s is %s, not AUTHENTICATION: delete it in WhatsApp Manager or use another META_TEMPLATE_NAME", t.Language, r.ID, r.Category))
		case len(diff) == 0:
			fmt.Fprintf(tw, "%s\tup to date\tid %s\t%s\n", t.Language, r.ID, r.Status)
		case !editable(r.Status):
			fmt.Fprintf(tw, "%s\tdiffers, not editable\tid %s\t%s\t%s\n", t.Language, r.ID, r.Status, strings.Join(diff, "; "))
			errs = append(errs, fmt.Errorf("%s: template %s is %s: Meta edits only approved, rejected or paused templates; sync again after review", t.Language, r.ID, r.Status))
		default:
			if err := w.client.Update(ctx, r.ID, t); err != nil {
				fmt.Fprintf(tw, "%s\tupdate failed\tid %s\n", t.Language, r.ID)
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(tw, "%s\tupdated\tid %s\t%s\n", t.Language, r.ID, strings.Join(diff, "; "))
		}
	}
	return errors.Join(errs...)
}

// show prints each language's status and definition, and how it differs
// from the configuration.
func (w templateCmd) show(ctx context.Context) error {
	remote, err := w.client.List(ctx, w.plan.cfg.TemplateName)
	if err != nil {
		return err
	}
	w.header()
	if w.planErr != nil {
		fmt.Fprintf(w.out, "  (not compared with the configuration: %v)\n", w.planErr)
	}
	want := map[string]meta.Template{}
	for _, t := range w.plan.templates() {
		want[t.Language] = t
	}
	langs := meta.TemplateLanguages(w.plan.cfg)
	for _, r := range remote {
		if !slices.Contains(langs, r.Language) {
			langs = append(langs, r.Language)
		}
	}
	for _, lang := range langs {
		r, found := findLanguage(remote, lang)
		t, used := want[lang]
		switch {
		case !found:
			fmt.Fprintf(w.out, "%-6s MISSING\n", lang)
			continue
		case !used:
			fmt.Fprintf(w.out, "%-6s %s id %s (a language Veriflow does not send in)\n", lang, r.Status, r.ID)
		default:
			fmt.Fprintf(w.out, "%-6s %s id %s %s: %s\n", lang, r.Status, r.ID, r.Category, r.Definition())
		}
		if r.RejectedReason != "" && r.RejectedReason != "NONE" {
			fmt.Fprintf(w.out, "       rejected: %s\n", r.RejectedReason)
		}
		if used && w.planErr == nil {
			if diff := t.Definition().Diff(r.Definition()); len(diff) > 0 {
				fmt.Fprintf(w.out, "       differs from the configuration: %s\n", strings.Join(diff, "; "))
			}
		}
	}
	return nil
}

// findLanguage returns the template of lang among ts.
func findLanguage(ts []meta.RemoteTemplate, lang string) (meta.RemoteTemplate, bool) {
	for _, t := range ts {
		if t.Language == lang {
			return t, true
		}
	}
	return meta.RemoteTemplate{}, false
}
