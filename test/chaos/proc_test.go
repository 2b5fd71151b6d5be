package chaos

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a Veriflow child process (worker or API) in its own process
// group, which the test kills with SIGKILL and starts again. An exit the
// test did not cause is counted and the process is started again.
type proc struct {
	t    *testing.T
	name string
	bin  string
	args []string
	env  []string
	logf *os.File

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	killed     bool // the current run was killed by the test
	stopping   bool // the test is over: do not restart
	starts     int
	kills      int
	unexpected []string
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return nil
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.logf, p.logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.killed = cmd, done, false
	p.starts++
	go func() {
		err := cmd.Wait()
		p.exited(cmd, err)
		close(done)
	}()
	return nil
}

func (p *proc) exited(cmd *exec.Cmd, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != cmd || p.killed || p.stopping {
		return
	}
	msg := fmt.Sprintf("%s (pid %d) exited on its own at %s: %v", p.name, cmd.Process.Pid, time.Now().Format("15:04:05"), err)
	p.unexpected = append(p.unexpected, msg)
	p.t.Log(msg)
	go func() {
		time.Sleep(time.Second)
		if err := p.start(); err != nil {
			p.t.Errorf("restart %s after it exited: %v", p.name, err)
		}
	}()
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.killed = true
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	p.mu.Lock()
	p.kills++
	p.mu.Unlock()
}

// stop ends the process for good: SIGTERM, then SIGKILL after 15 s.
func (p *proc) stop() {
	p.mu.Lock()
	p.stopping = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func (p *proc) figures() (starts, kills int, unexpected []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.kills, append([]string(nil), p.unexpected...)
}

// runOnce runs bin with args and env and returns its standard output.
func runOnce(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// lineValue returns what follows prefix on the first line of out that
// starts with it.
func lineValue(out, prefix string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %q line in %q", prefix, out)
}

// sleepCtx sleeps for d or until ctx is done; it reports whether it slept
// the whole time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
