package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veriflow/veriflow/internal/contract"
)

// Fuzz targets of the status callback webhook. Run one with
//
//	go test -run='^$' -fuzz='^FuzzParseStatusCallback$' -fuzztime=60s ./provider/twilio
//
// or all of them with `make fuzz`. Plain `go test` runs the seeds below and
// the corpus in testdata/fuzz.

// Real-shaped status callback bodies (application/x-www-form-urlencoded).
var fuzzCallbackSeeds = []string{
	// SMS delivered.
	"SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=delivered&MessageStatus=delivered&To=%2B393331234567&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B15005550006&ApiVersion=2010-04-01",
	// SMS undelivered with an error code.
	"ErrorCode=30008&SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=undelivered&MessageStatus=undelivered&To=%2B393331234567&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B15005550006&ApiVersion=2010-04-01",
	// WhatsApp read and failed (63016: outside the 24 h window).
	"ChannelPrefix=whatsapp&ApiVersion=2010-04-01&MessageStatus=read&SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=read&ChannelInstallSid=XE0123456789abcdef0123456789abcdef&To=whatsapp%3A%2B393331234567&From=whatsapp%3A%2B15005550006&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&ChannelToAddress=%2B39333123XXXX",
	"ErrorCode=63016&ErrorMessage=Failed+to+send+freeform+message+because+you+are+outside+the+allowed+window.&MessageStatus=failed&SmsStatus=failed&To=whatsapp%3A%2B393331234567&From=whatsapp%3A%2B15005550006&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01",
	"MessageSid=SM1&MessageStatus=queued",
	"MessageSid=SM1&MessageStatus=failed&ErrorCode=0",
	"MessageSid=SM1&MessageStatus=failed&ErrorCode=99999999999999999999",
	"MessageSid=SM1&MessageStatus=failed&ErrorCode=-1",
	"MessageSid=SM1&MessageStatus=failed&ErrorCode=%2B21610",
	"MessageSid=SM1&MessageStatus=received",
	"MessageSid=SM1&MessageStatus=DELIVERED",
	"MessageSid=&MessageStatus=sent",
	"MessageStatus=sent",
	"MessageSid=SM1&MessageStatus=sent&MessageStatus=failed&MessageSid=SM2",
	"MessageSid=SM1;MessageStatus=sent",
	"MessageSid=SM%ZZ&MessageStatus=sent",
	"",
}

func FuzzParseStatusCallback(f *testing.F) {
	for _, s := range fuzzCallbackSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		// The handler refuses a body ParseForm rejects; the values parsed
		// before the error are parsed all the same, to reach more of the parser.
		form, _ := url.ParseQuery(body)
		before := time.Now().UTC()
		r, err := ParseStatusCallback(form)
		if err != nil {
			if !errors.Is(err, ErrInvalidCallback) {
				t.Fatalf("error %v does not wrap ErrInvalidCallback", err)
			}
			if r != (contract.Receipt{}) {
				t.Fatalf("receipt %+v with error %v", r, err)
			}
			if n := len(err.Error()); n > 200 {
				t.Fatalf("error of %d bytes: the input is not truncated", n)
			}
			return
		}
		if r.Provider != "twilio" {
			t.Fatalf("provider %q", r.Provider)
		}
		if r.MessageID == "" || r.MessageID != form.Get("MessageSid") {
			t.Fatalf("message id %q, MessageSid %q", r.MessageID, form.Get("MessageSid"))
		}
		if !r.Status.Valid() || r.Status == contract.AttemptSending {
			t.Fatalf("status %q from %q", r.Status, form.Get("MessageStatus"))
		}
		if r.ID != 0 || r.OccurredAt.Before(before) || r.OccurredAt.Location() != time.UTC {
			t.Fatalf("receipt %+v", r)
		}
		code := 0
		if ec := form.Get("ErrorCode"); ec != "" {
			n, err := strconv.Atoi(ec)
			if err != nil || n < 0 {
				t.Fatalf("ErrorCode %q accepted", ec)
			}
			code = n
		}
		if (code != 0) != (r.Error != "") {
			t.Fatalf("ErrorCode %q gave error %q", form.Get("ErrorCode"), r.Error)
		}
	})
}

// fuzzSign is Twilio's X-Twilio-Signature of a POST to fullURL with form,
// as Verify checks it: base64 of the HMAC-SHA1, keyed with token, of the
// URL followed by each parameter's name and first value, sorted by name.
func fuzzSign(token, fullURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(fuzzSignedData(fullURL, form)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func fuzzSignedData(fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(form[k][0])
	}
	return b.String()
}

// fuzzPortVariants returns fullURL with its default port added or removed:
// Twilio signs either, and Verify accepts both.
func fuzzPortVariants(fullURL string) []string {
	u, err := url.Parse(fullURL)
	if err != nil {
		return nil
	}
	out := []string{}
	if u.Port() != "" {
		v := *u
		v.Host = strings.Split(u.Host, ":")[0]
		out = append(out, v.String())
	} else {
		port := ":80"
		if u.Scheme == "https" {
			port = ":443"
		}
		for _, host := range []string{u.Host + port, strings.Split(u.Host, ":")[0] + port} {
			v := *u
			v.Host = host
			out = append(out, v.String())
		}
	}
	return out
}

// flipByte returns sig (base64) with one byte of its MAC changed.
func flipByte(t *testing.T, sig string, pos uint16) string {
	t.Helper()
	mac, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(mac) == 0 {
		t.Fatalf("signature %q: %v", sig, err)
	}
	mac[int(pos)%len(mac)] ^= byte(pos>>8) | 1
	return base64.StdEncoding.EncodeToString(mac)
}

func FuzzVerifySignature(f *testing.F) {
	const token = "fakeAuthToken0123456789abcdef012"
	callback := "https://veriflow.example.com/webhooks/twilio/status"
	for i, body := range fuzzCallbackSeeds {
		form, _ := url.ParseQuery(body)
		f.Add(token, callback, body, fuzzSign(token, callback, form), uint16(i))
		f.Add(token, callback+"?tenant=t1", body, "bm90IGEgc2lnbmF0dXJl", uint16(i*37))
	}
	f.Add(token, "https://veriflow.example.com:443/webhooks/twilio/status", fuzzCallbackSeeds[0], "", uint16(0))
	f.Add("", callback, fuzzCallbackSeeds[0], fuzzSign("", callback, url.Values{}), uint16(1))
	f.Add("t", "http://[::1]:8080/x", "a=b&a=c&=&b", "", uint16(0xffff))
	f.Add("t", "::not a url", "ab=c", "", uint16(7))

	f.Fuzz(func(t *testing.T, token, fullURL, body, sig string, pos uint16) {
		form, _ := url.ParseQuery(body)
		v := NewSignatureVerifier(token, "")
		genuine := fuzzSign(token, fullURL, form)

		if token == "" {
			// No token configured: nothing verifies, not even a MAC keyed with "".
			if v.Verify(fullURL, form, sig) || v.Verify(fullURL, form, genuine) {
				t.Fatal("a verifier without tokens accepted a signature")
			}
			return
		}
		// Arbitrary signatures: only the genuine one (of the URL as given or
		// with its default port toggled) verifies.
		if v.Verify(fullURL, form, sig) && sig != genuine {
			ok := false
			for _, u := range fuzzPortVariants(fullURL) {
				ok = ok || sig == fuzzSign(token, u, form)
			}
			if !ok {
				t.Fatalf("forged signature %q accepted for %q %q (genuine %q)", sig, fullURL, body, genuine)
			}
		}
		// The genuine signature verifies, under the primary and the secondary token.
		if !v.Verify(fullURL, form, genuine) {
			t.Fatalf("genuine signature %q rejected for %q %q", genuine, fullURL, body)
		}
		if !NewSignatureVerifier("otherToken0123456789abcdef012345", token).Verify(fullURL, form, genuine) {
			t.Fatal("genuine signature rejected under the secondary token")
		}
		// One byte flipped: rejected.
		if flipped := flipByte(t, genuine, pos); v.Verify(fullURL, form, flipped) {
			t.Fatalf("flipped signature %q accepted (genuine %q)", flipped, genuine)
		}
		// Signed by another token: rejected.
		if v.Verify(fullURL, form, fuzzSign(token+"x", fullURL, form)) {
			t.Fatal("signature of another token accepted")
		}
		// A parameter changed after signing: rejected.
		if len(form) > 0 {
			tampered := url.Values{}
			for k, vs := range form {
				tampered[k] = append([]string(nil), vs...)
			}
			for k := range tampered {
				if len(tampered[k]) > 0 {
					tampered[k][0] += "x"
					break
				}
			}
			if fuzzSignedData(fullURL, tampered) != fuzzSignedData(fullURL, form) && v.Verify(fullURL, tampered, genuine) {
				t.Fatalf("tampered form %v accepted", tampered)
			}
		}
	})
}
