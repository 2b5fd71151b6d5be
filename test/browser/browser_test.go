package browser

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// step bounds each wait of the browser test; the whole test takes far less.
const step = 30 * time.Second

// TestTemporalUIShowsDecodedSummarizedVerification approves a signup
// verification over HTTP, then in headless Chromium filters the Temporal
// UI's workflow list by VerificationKind, opens the workflow, and checks
// its summary, details and current details (User Metadata tab) and its
// payloads decoded by Veriflow's codec server (History tab). It saves a
// full-page screenshot of the History tab as temporal-ui-verification.png
// and one of the User Metadata tab beside it.
func TestTemporalUIShowsDecodedSummarizedVerification(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := needChromium(t)
	started := time.Now()
	s := startStack(t)
	t.Logf("stack up in %s: API %s, Temporal UI %s", time.Since(started).Round(time.Millisecond), s.APIURL, s.UIURL)

	ctx, cancel := context.WithTimeout(t.Context(), 2*step)
	defer cancel()
	// +15005550001 is "not a WhatsApp user" in the sandbox: WhatsApp fails,
	// SMS is delivered, so the current details tell a failover.
	const phone = "+15005550001"
	v, err := s.approve(ctx, map[string]any{"kind": "signup", "to": map[string]string{"phone": phone},
		"metadata": map[string]string{"user_id": "u_42"}}, phone)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	// A verification of another kind, which the filter must hide.
	var other verification
	if err := s.call(ctx, "POST", "/v1/verifications", map[string]any{"kind": "password_reset",
		"to": map[string]string{"phone": "+15005550000"}}, &other); err != nil {
		t.Fatalf("start the other verification: %v", err)
	}
	t.Logf("approved %s; other kind: %s", v.ID, other.ID)

	dir := screenshotDir(t)
	for _, stale := range []string{"temporal-ui-failure.png", "temporal-ui-failure.html"} {
		_ = os.Remove(filepath.Join(dir, stale)) // from an earlier failed run, if any
	}
	tab := newBrowser(t.Context(), t, chromium)
	// The first action starts the browser with the tab's own lifetime;
	// later ones run under their own deadlines.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(viewportWidth, viewportHeight)); err != nil {
		t.Fatalf("start chromium %s: %v", chromium, err)
	}
	ui := &uiSession{t: t, tab: tab, s: s}
	defer func() {
		if t.Failed() {
			saveFailure(t, tab, dir)
		}
	}()

	browserStart := time.Now()
	ui.filterByKind("signup", v.ID, other.ID)
	ui.openWorkflow(v.ID)
	ui.waitDecoded()
	ui.checkUserMetadata("signup verification", "approved")
	saveFile(t, dir, "temporal-ui-verification-metadata.png", ui.screenshot(false))
	ui.showStartedEvent()
	p := saveFile(t, dir, "temporal-ui-verification.png", ui.screenshot(true))
	if n := s.codecCalls.Load(); n == 0 {
		t.Fatal("the UI never called the codec server")
	} else {
		t.Logf("the UI made %d codec calls", n)
	}
	t.Logf("browser part: %s; screenshot: %s", time.Since(browserStart).Round(time.Millisecond), p)
}

// uiSession drives the Temporal UI in one tab; each method fails the test
// when its condition does not hold within step.
type uiSession struct {
	t   *testing.T
	tab context.Context
	s   *stack
}

// do runs actions under a step deadline.
func (u *uiSession) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.tab, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		u.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls the JavaScript predicate until it is true.
func (u *uiSession) waitFor(what, predicate string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.tab, step)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(step))); err != nil {
		u.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string { return strconv.Quote(s) }

// rowLink is a CSS selector of the workflow-list link to a verification's
// workflow (the UI escapes the "/" of the workflow id).
func rowLink(id string) string {
	return fmt.Sprintf(`a[href*=%s]`, js(url.PathEscape("verification/"+id)))
}

// filterByKind opens the workflow list, types a VerificationKind query
// into the manual query box and waits until the list shows want and not
// hide.
func (u *uiSession) filterByKind(kind, want, hide string) {
	u.t.Helper()
	query := fmt.Sprintf("VerificationKind=%s", js(kind))
	u.do("open the workflow list",
		chromedp.Navigate(u.s.UIURL+"/namespaces/default/workflows"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="toggle-manual-query"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="toggle-manual-query"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="manual-search-input"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="manual-search-input"]`), query),
		chromedp.Click(chromedp.CSS(`[data-testid="manual-search-button"]`)),
	)
	u.waitFor("the filtered list", fmt.Sprintf(`new URLSearchParams(location.search).get("query") === %s
		&& document.querySelector(%s) !== null && document.querySelector(%s) === null`,
		js(query), js(rowLink(want)), js(rowLink(hide))))
}

// openWorkflow clicks the verification's row and waits for its page.
func (u *uiSession) openWorkflow(id string) {
	u.t.Helper()
	u.do("open the workflow",
		chromedp.Click(chromedp.CSS(rowLink(id))),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="workflow-id-heading"]`)),
	)
	u.waitFor("the workflow page", fmt.Sprintf(`location.pathname.endsWith("/history")
		&& document.querySelector('[data-testid="workflow-id-heading"]').innerText.includes(%s)`, js("verification/"+id)))
}

// waitDecoded waits until the input shows decoded JSON (the tenant id is
// a plaintext field of the encrypted input) and the UI reports that its
// codec server answered.
func (u *uiSession) waitDecoded() {
	u.t.Helper()
	u.waitFor("decoded input and result", fmt.Sprintf(`(() => {
		const io = document.querySelector('[data-testid="input-and-result"]');
		return io !== null && io.innerText.includes(%s) && io.innerText.includes('"status": "approved"')
			&& document.querySelector('[data-testid="data-encoder-status-success"]') !== null;
	})()`, js(`"tenant_id": "`+u.s.Tenant+`"`)))
	u.checkNoCiphertext()
}

// checkNoCiphertext fails when the page shows an encrypted payload.
func (u *uiSession) checkNoCiphertext() {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.tab, step)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		u.t.Fatalf("page text: %v", err)
	}
	// The UI shows an undecoded payload's metadata in base64:
	// "YmluYXJ5L2VuY3J5cHRlZA==" is "binary/encrypted".
	for _, marker := range []string{"binary/encrypted", "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-cipher", "encryption-key-id"} {
		if strings.Contains(text, marker) {
			u.t.Fatalf("the page shows an encrypted payload (%q): the codec server did not decode it", marker)
		}
	}
}

// frameText is a JavaScript expression: the text of the page's
// same-origin iframes (the UI renders user metadata in them), joined.
const frameText = `[...document.querySelectorAll("iframe")].map(f => (f.contentDocument && f.contentDocument.body) ? f.contentDocument.body.innerText : "").join("\n")`

// checkUserMetadata opens the User Metadata tab and waits for the summary
// and for current details that end in status.
func (u *uiSession) checkUserMetadata(summary, status string) {
	u.t.Helper()
	u.do("open the User Metadata tab", chromedp.Click(chromedp.CSS(`[data-testid="user-metadata-tab"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-metadata-summary-heading"]`)))
	u.waitFor("summary, details and current details", fmt.Sprintf(`(() => {
		const text = %s;
		return text.includes(%s) && text.includes("plan: whatsapp → sms") && text.includes(%s);
	})()`, frameText, js(summary), js("→ "+status)))
}

// showStartedEvent opens the History tab in ascending order and expands
// the first event (Workflow Execution Started): its summary and its
// decoded input then show under the input and the result.
func (u *uiSession) showStartedEvent() {
	u.t.Helper()
	u.do("open the History tab", chromedp.Click(chromedp.CSS(`[data-testid="history-tab"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="input-and-result"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-testid="event-summary-row"]`)))
	u.do("sort the history ascending", chromedp.Click(`//button[.//span[normalize-space()="Descending"]]`))
	u.waitFor("ascending history", `document.querySelector('tr[data-testid="event-summary-row"]').dataset.eventid === "1"`)
	u.do("expand the started event", chromedp.Click(chromedp.CSS(`tr[data-testid="event-summary-row"][data-eventid="1"]`)))
	// The expanded event repeats the decoded input next to the summary.
	u.waitFor("the expanded started event", fmt.Sprintf(`(() => {
		const text = document.body.innerText;
		return text.split(%s).length > 2 && /Summary\s+signup verification/.test(text);
	})()`, js(`"tenant_id": "`+u.s.Tenant+`"`)))
	u.checkNoCiphertext()
}

// screenshot takes a PNG of the viewport, or of the whole page.
func (u *uiSession) screenshot(fullPage bool) []byte {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.tab, step)
	defer cancel()
	var (
		png []byte
		err error
	)
	if fullPage {
		png, err = fullPageScreenshot(ctx)
	} else {
		png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	}
	if err != nil {
		u.t.Fatalf("screenshot: %v", err)
	}
	return png
}
