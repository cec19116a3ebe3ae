package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tasktrack"
)

// Webhook defaults. The schedule is the contract's: about 5 s, 30 s,
// 2 m, 10 m, 30 m, 1 h, 3 h and 6 h after the attempts before, as
// multiples of the base; then the delivery is given up.
const (
	DefaultWebhookBase    = 5 * time.Second
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultWebhookPerEndpoint is how many requests one endpoint gets at
	// once from a process: a slow receiver holds no more of the worker
	// (whose other deliveries go on meanwhile).
	DefaultWebhookPerEndpoint = 2
	// webhookBodyKeep is how much of an answer an attempt records.
	webhookBodyKeep = 1024
)

var webhookSchedule = []int64{1, 6, 24, 120, 360, 720, 2160, 4320}

// RefusedAddressError is a connection refused before it was made: the
// address is not public and private ones are not allowed.
type RefusedAddressError struct{ Addr netip.Addr }

func (e *RefusedAddressError) Error() string {
	return "refused to connect to " + e.Addr.String() + ": not a public address (see --webhook-allow-private)"
}

// errGone is a delivery to an endpoint deleted or turned off.
var errGone = errors.New("the webhook endpoint is deleted or disabled")

// refusePrivate is a net.Dialer's Control: it runs after the name is
// resolved and before each connection is made, so that no DNS answer can
// lead a webhook to an inside address.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !tasktrack.PublicAddr(ap.Addr()) {
		return &RefusedAddressError{ap.Addr().Unmap()}
	}
	return nil
}

// NewWebhookClient returns the client webhooks are sent with: no proxy
// from the environment (its address would be the one checked), no
// redirects (a 3xx is the answer, and a failure), and, unless
// allowPrivate, only public addresses.
func NewWebhookClient(timeout time.Duration, allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = refusePrivate
	}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: DefaultWebhookPerEndpoint,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: timeout},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Webhooks delivers webhook rows: it signs the captured body (or a line
// made from it, for Slack and Discord), posts it, and records a failed
// attempt; one that went through is recorded with its delivery's success.
type Webhooks struct {
	Store  tasktrack.WebhookStore
	Client *http.Client
	// PublicURL is the base of the links in Slack and Discord lines.
	PublicURL string
	// Timeout bounds an attempt; PerEndpoint the attempts at one endpoint
	// at once (WebhookKind makes it the kind's PerTarget, which the worker
	// keeps to by claiming no more: an attempt never waits for a turn).
	Timeout     time.Duration
	PerEndpoint int
	Now         func() time.Time
	Logger      *slog.Logger
}

// WebhookKind is the Kind of webhook deliveries, with the given backoff
// base (0: DefaultWebhookBase).
func WebhookKind(h *Webhooks, base time.Duration) Kind {
	if base <= 0 {
		base = DefaultWebhookBase
	}
	schedule := make([]time.Duration, len(webhookSchedule))
	for i, m := range webhookSchedule {
		schedule[i] = base * time.Duration(m)
	}
	return Kind{
		Handler: h, Permanent: func(err error) bool {
			var refused *RefusedAddressError
			return errors.Is(err, errGone) || errors.As(err, &refused)
		},
		PerTarget: max(1, h.PerEndpoint),
		Schedule:  schedule, GiveUpAfter: 7 * 24 * time.Hour,
		FailedAction: tasktrack.ActionWebhookFailed,
		FailedDetails: func(d *tasktrack.Delivery, err error) map[string]any {
			return map[string]any{"delivery": d.ID, "webhook": d.Target, "attempts": d.Attempt, "error": err.Error()}
		},
	}
}

// Deliver makes one attempt at d and records it.
func (h *Webhooks) Deliver(ctx context.Context, d *tasktrack.Delivery) error {
	t, err := h.Store.WebhookTarget(ctx, d.Target)
	if errors.Is(err, tasktrack.ErrNotFound) || (err == nil && !t.IsActive) {
		return errGone
	}
	if err != nil {
		return err
	}
	standard, ev, err := tasktrack.WebhookEventBody(d.Payload)
	if err != nil {
		return fmt.Errorf("%w: %v", errGone, err)
	}
	body, err := FormatWebhook(t.Format, ev, standard, h.PublicURL)
	if err != nil {
		return err
	}
	start := h.Now()
	status, answer, err := h.post(ctx, t, d.ID, start.Unix(), body)
	end := h.Now()
	rec := tasktrack.WebhookAttemptRecord{WebhookID: t.ID, DeliveryID: d.ID, EventType: ev.Type, Attempt: d.Attempt,
		OK: err == nil, ResponseStatus: status, ResponseBody: answer, Duration: end.Sub(start), At: end}
	log := h.Logger.With("webhook", t.ID, "event", d.ID, "type", ev.Type, "attempt", d.Attempt)
	log.Debug("webhook: attempt", "status", status, "duration", rec.Duration)
	if err == nil {
		// Recorded with the success, by the worker, in one write for
		// several deliveries.
		d.WebhookAttempt = &rec
		return nil
	}
	rec.Error = err.Error()
	log.Warn("webhook: attempt failed", "status", status, "err", err)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := h.Store.RecordWebhookAttempt(rctx, rec); rerr != nil {
		log.Error("webhook: could not record an attempt", "err", rerr)
	}
	return err
}

// post sends one request and reads the first KiB of the answer.
func (h *Webhooks) post(ctx context.Context, t *tasktrack.WebhookTarget, id string, ts int64, body []byte) (int, string, error) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, strings.NewReader(string(body)))
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", errGone, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tasktrack-webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", tasktrack.SignWebhook(t.Secrets, id, ts, body))
	resp, err := h.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		var refused *RefusedAddressError
		if errors.As(err, &refused) {
			err = refused
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, webhookBodyKeep))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, string(answer), fmt.Errorf("answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, string(answer), nil
}

// FormatWebhook is the body an endpoint of the given format receives: the
// standard body as captured, or one line of it for Slack ({"text"}) and
// Discord ({"content"}).
func FormatWebhook(format string, ev tasktrack.WebhookBody, standard []byte, publicURL string) ([]byte, error) {
	switch format {
	case tasktrack.FormatSlack:
		return json.Marshal(map[string]string{"text": WebhookLine(ev, publicURL)})
	case tasktrack.FormatDiscord:
		return json.Marshal(map[string]string{"content": WebhookLine(ev, publicURL)})
	}
	return standard, nil
}

// webhookData is the part of an event's data a line names.
type webhookData struct {
	ID                 json.RawMessage `json:"id"`
	Title              string          `json:"title"`
	Status             string          `json:"status"`
	Deadline           time.Time       `json:"deadline"`
	AssignedToUsername string          `json:"assigned_to_username"`
	Username           string          `json:"username"`
	Kind               string          `json:"kind"`
	User               struct {
		Username string `json:"username"`
	} `json:"user"`
	AcknowledgedBy *struct {
		Username string `json:"username"`
	} `json:"acknowledged_by"`
}

var taskLabels = map[string]string{
	tasktrack.EventTaskCreated: "New task", tasktrack.EventTaskUpdated: "Updated", tasktrack.EventTaskDeleted: "Deleted",
	tasktrack.EventTaskReminder: "Reminder", tasktrack.EventTaskMissed: "Missed",
}

var userLabels = map[string]string{
	tasktrack.EventUserCreated: "New user", tasktrack.EventUserDeactivated: "Deactivated",
	tasktrack.EventUserReactivated: "Reactivated", tasktrack.EventUserAtRisk: "At risk of deactivation",
}

// WebhookLine is the one readable line of an event, with a link.
func WebhookLine(ev tasktrack.WebhookBody, publicURL string) string {
	var d webhookData
	_ = json.Unmarshal(ev.Data, &d)
	id := strings.Trim(string(d.ID), `"`)
	switch {
	case strings.HasPrefix(ev.Type, "task."):
		label := taskLabels[ev.Type]
		if ev.Type == tasktrack.EventTaskStatusChanged {
			label = "Now " + strings.ReplaceAll(d.Status, "_", " ")
		}
		line := fmt.Sprintf("%s: %q (%s), due %s", label, d.Title, d.AssignedToUsername, d.Deadline.UTC().Format("Jan 2 15:04 MST"))
		if ev.Type == tasktrack.EventTaskDeleted {
			return line
		}
		return line + " <" + publicURL + "/tasks/" + url.PathEscape(id) + ">"
	case strings.HasPrefix(ev.Type, "user."):
		return fmt.Sprintf("%s: %s <%s/users/%s>", userLabels[ev.Type], d.Username, publicURL, url.PathEscape(id))
	case ev.Type == tasktrack.EventAlertAcknowledged:
		by := ""
		if d.AcknowledgedBy != nil {
			by = " by " + d.AcknowledgedBy.Username
		}
		return fmt.Sprintf("Alert acknowledged%s: %s about %s <%s/alerts>", by, strings.ReplaceAll(d.Kind, "_", " "), d.User.Username, publicURL)
	}
	return "Ping from tasktrack <" + publicURL + ">"
}
