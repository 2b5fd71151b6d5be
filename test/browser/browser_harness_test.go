package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser window size; the final screenshot grows its height to the page's.
const (
	viewportWidth  = 1440
	viewportHeight = 900
	// maxPageHeight caps a full-page screenshot.
	maxPageHeight = 8000
)

// findChromium returns the Chromium to drive: $VERIFLOW_CHROMIUM, else
// Debian's /usr/bin/chromium, else chromium or chromium-browser on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("VERIFLOW_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VERIFLOW_CHROMIUM: %w", err)
		}
		return p, nil
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && !st.IsDir() {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium found (apt-get install chromium, or set VERIFLOW_CHROMIUM)")
}

// needChromium returns the browser path, skipping the test when there is
// none unless VERIFLOW_REQUIRE_BROWSER=1 (then it fails).
func needChromium(t *testing.T) string {
	t.Helper()
	p, err := findChromium()
	if err == nil {
		return p
	}
	if os.Getenv("VERIFLOW_REQUIRE_BROWSER") == "1" {
		t.Fatalf("VERIFLOW_REQUIRE_BROWSER=1 but: %v", err)
	}
	t.Skipf("skipping: %v", err)
	return ""
}

// newBrowser starts headless Chromium at path and returns a tab's context;
// the browser is killed and its profile removed when the test ends.
func newBrowser(ctx context.Context, t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(viewportWidth, viewportHeight),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	return bctx
}

// settledHeight waits two animation frames, so that layout has followed
// the last change, and returns the height of the UI's scrolling content.
func settledHeight() chromedp.Action[int64] {
	return chromedp.Evaluate[int64](`new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(() =>
		resolve((document.getElementById("content-wrapper") || document.documentElement).scrollHeight))))`,
		chromedp.EvalAwaitPromise)
}

// fullPageScreenshot grows the viewport to the height of the page (the
// Temporal UI scrolls inside #content-wrapper, and its event table's height
// follows the viewport's, so this takes a few rounds) and takes a PNG.
func fullPageScreenshot(ctx context.Context) ([]byte, error) {
	height := int64(viewportHeight)
	for range 8 {
		h, err := chromedp.Run(ctx, settledHeight())
		if err != nil {
			return nil, fmt.Errorf("page height: %w", err)
		}
		if h <= height || height >= maxPageHeight {
			break
		}
		height = min(h, maxPageHeight)
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(viewportWidth, height)); err != nil {
			return nil, fmt.Errorf("resize viewport to %d: %w", height, err)
		}
	}
	if _, err := chromedp.Run(ctx, settledHeight()); err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	return png, nil
}

// screenshotDir is $VERIFLOW_SCREENSHOT_DIR, else .dev/screenshots in the
// repository (git-ignored), else a test temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VERIFLOW_SCREENSHOT_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Logf("screenshots go to a temporary directory: %v", err)
			return t.TempDir()
		}
		dir = filepath.Join(root, ".dev", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	return dir
}

// saveFile writes b to dir/name and logs the path.
func saveFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatalf("save %s: %v", name, err)
	}
	t.Logf("saved %s (%s bytes)", p, strconv.Itoa(len(b)))
	return p
}

// saveFailure saves a screenshot and the HTML of the tab's page, for a
// failing test to be understood; it does its best within a few seconds.
func saveFailure(t *testing.T, tab context.Context, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tab), 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		saveFile(t, dir, "temporal-ui-failure.png", png)
	} else {
		t.Logf("failure screenshot: %v", err)
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		saveFile(t, dir, "temporal-ui-failure.html", []byte(html))
	} else {
		t.Logf("failure HTML: %v", err)
	}
}
