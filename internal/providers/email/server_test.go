package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// The test server's scripted recipients (by local part); any other
// recipient is accepted.
const (
	rcptUnknown = "unknown" // 550 5.1.1 at RCPT TO
	rcptBusy    = "busy"    // 451 4.3.0 at RCPT TO
	rcptSlow    = "slow"    // RCPT TO hangs until the test ends
	rcptEcho    = "echo"    // 554 5.7.1 after DATA, echoing the code and the recipient
)

// serverOptions configures startServer.
type serverOptions struct {
	startTLS     bool   // offer STARTTLS with a self-signed certificate
	implicitTLS  bool   // speak TLS from the first byte
	user, pass   string // when set, require AUTH PLAIN with these credentials
	noAuth       bool   // with user set: require AUTH but offer no mechanism
	rejectSender bool   // 553 5.7.1 to MAIL FROM
}

// delivery is one message accepted by the test server.
type delivery struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	tlsVer   uint16
	authUser string
}

// testServer is an in-process SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1.
type testServer struct {
	port  int
	roots *x509.CertPool // trusts the server's certificate

	be *backend
}

// deliveries returns the messages accepted so far.
func (ts *testServer) deliveries() []delivery {
	ts.be.mu.Lock()
	defer ts.be.mu.Unlock()
	return append([]delivery(nil), ts.be.msgs...)
}

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	cert, roots := selfSigned(t)
	be := &backend{opts: o, release: make(chan struct{})}
	srv := gosmtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.startTLS {
		srv.TLSConfig = tlsCfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS {
		ln = tls.NewListener(ln, tlsCfg)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		close(be.release)
		_ = srv.Close()
		_ = ln.Close() // in case Serve had not registered it yet
		<-done
	})
	return &testServer{port: ln.Addr().(*net.TCPAddr).Port, roots: roots, be: be}
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "veriflow smtp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// backend implements gosmtp.Backend.
type backend struct {
	opts    serverOptions
	release chan struct{} // closed when the test ends

	mu   sync.Mutex
	msgs []delivery
}

// NewSession implements gosmtp.Backend.
func (be *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	s := &session{be: be, conn: c}
	if be.opts.user != "" && !be.opts.noAuth {
		return authSession{s}, nil
	}
	return s, nil
}

// session implements gosmtp.Session.
type session struct {
	be   *backend
	conn *gosmtp.Conn
	user string
	from string
	to   []string
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.be.opts.user != "" && s.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if s.be.opts.rejectSender {
		return &gosmtp.SMTPError{Code: 553, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "<" + from + ">: sender not allowed"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	local, _, _ := strings.Cut(to, "@")
	switch local {
	case rcptUnknown:
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: mailbox unavailable"}
	case rcptBusy:
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "<" + to + ">: try again later"}
	case rcptSlow:
		select {
		case <-s.be.release:
		case <-time.After(30 * time.Second):
		}
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 4, 7}, Message: "too late"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		if strings.HasPrefix(to, rcptEcho+"@") {
			code := "?"
			if m := regexp.MustCompile(`code: (\d+)`).FindSubmatch(data); m != nil {
				code = string(m[1])
			}
			return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1},
				Message: "message to " + strings.ToUpper(to) + " rejected: it contains " + code}
		}
	}
	d := delivery{from: s.from, to: s.to, data: data, authUser: s.user}
	if st, ok := s.conn.TLSConnectionState(); ok {
		d.tls, d.tlsVer = st.HandshakeComplete, st.Version
	}
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, d)
	s.be.mu.Unlock()
	return nil
}

// authSession adds AUTH PLAIN to a session.
type authSession struct{ *session }

func (s authSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s authSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.be.opts.user || password != s.be.opts.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}
