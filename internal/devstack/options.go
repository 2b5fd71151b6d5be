package devstack

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/veriflow/veriflow/internal/app"
	"github.com/veriflow/veriflow/internal/config"
	"go.temporal.io/sdk/interceptor"
)

// ErrListen marks a Start that could not bind the API's address (match it
// with errors.Is; the message reads "listen ADDR: …").
var ErrListen = errors.New("listen")

// Options configure a stack. The zero value runs everything on free
// loopback ports with fresh keys.
type Options struct {
	// DatabaseURL names an existing PostgreSQL; empty starts a throwaway
	// cluster (localpg; without server binaries Start fails with
	// localpg.ErrNoBinaries).
	DatabaseURL string
	// TemporalAddress names an existing Temporal frontend; empty starts a
	// dev server (without the CLI Start fails with ErrNoTemporalCLI).
	TemporalAddress string
	// DevServerAddr is where a started dev server listens (host:port);
	// empty picks a free loopback port.
	DevServerAddr string
	// TemporalFairness starts the dev server with task-queue fairness on
	// (see TemporalOptions.Fairness).
	TemporalFairness bool
	// UIPort runs a started dev server's Web UI on that port, decoding
	// payloads through the API's codec server (whose allowed origins then
	// include the UI); 0 runs it headless.
	UIPort int
	// HTTPAddr is where the API listens; empty picks a free loopback port.
	// It is bound before anything starts, so a busy port fails fast
	// (ErrListen) and providers and the UI know the API's URL.
	HTTPAddr string
	// Config is the base configuration. The stack sets DatabaseURL and
	// TemporalAddress, defaults the namespace to "default" and the shutdown
	// timeout to 5 s, and generates the code secret, the evidence key and
	// the payload key when they are empty.
	Config config.Config
	// Configure, when set, adjusts the configuration last, knowing the
	// API's base URL (providers' webhook URLs, abuse limits, keys).
	Configure func(cfg *config.Config, apiURL string)
	// ProviderHTTPClient, when set, carries the providers' API calls
	// (tests point it at fakes).
	ProviderHTTPClient *http.Client
	// WorkerInterceptors, when set, wrap the worker's workflows and
	// activities (tests that slow one workflow down).
	WorkerInterceptors []interceptor.WorkerInterceptor
	// HTTPHandler, when set, wraps the API's handler (a test counting the
	// codec calls the UI makes).
	HTTPHandler func(http.Handler) http.Handler
	// Log receives the service's logs; DependencyLog the dependencies'
	// progress (nil: Log). Nil discards.
	Log, DependencyLog *slog.Logger
	// TemporalOutput receives a started dev server's own log lines (nil
	// discards them).
	TemporalOutput io.Writer
	// Progress, when set, receives a "==> …" line per step.
	Progress io.Writer
}

// Stack is Veriflow's worker and API running in this process on a
// PostgreSQL and a Temporal, each started by the stack unless Options named
// an existing one. Its methods are not safe for concurrent use.
type Stack struct {
	// URL is the API's base URL (http://host:port).
	URL string
	// UIURL is the Temporal Web UI's URL when the stack started it, else "".
	UIURL string
	// DatabaseURL and TemporalAddress are the dependencies in use.
	DatabaseURL, TemporalAddress string
	// TemporalPID and PostgresPID are the servers' processes when the stack
	// started them (0 otherwise), for CPU accounting.
	TemporalPID, PostgresPID int
	// App holds the service's connections, secrets and keys.
	App *app.App

	progress io.Writer
	// stopRunning stops the worker and the API; running counts those of
	// them that have not reported to done yet.
	stopRunning context.CancelFunc
	done        chan error
	running     int
	// closers undo the start, run last to first.
	closers []closer
}

// closer is one step of Close; step, when set, is announced first.
type closer struct {
	step string
	fn   func() error
}
