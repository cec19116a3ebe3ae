package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"tasktrack"
)

// Webhooks: the endpoints admins manage, their delivery logs, and the
// check that an endpoint's address is public when it is set (the sender
// checks again when it connects, which is what stops a DNS answer that
// changes in between).

type webhookJSON struct {
	ID             string             `json:"id"`
	URL            string             `json:"url"`
	Events         []string           `json:"events"`
	Format         string             `json:"format"`
	Description    string             `json:"description"`
	IsActive       bool               `json:"is_active"`
	CreatedAt      tasktrack.JSONTime `json:"created_at"`
	DisabledReason *string            `json:"disabled_reason"`
}

func toWebhookJSON(w *tasktrack.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Events: w.Events, Format: w.Format, Description: w.Description,
		IsActive: w.IsActive, CreatedAt: tasktrack.JSONTime(w.CreatedAt), DisabledReason: w.DisabledReason}
}

// webhookWithSecret is an endpoint as create and rotate answer it.
type webhookWithSecret struct {
	webhookJSON
	Secret string `json:"secret"`
}

type webhookAttemptJSON struct {
	ID             string              `json:"id"`
	EventID        string              `json:"event_id"`
	EventType      string              `json:"event_type"`
	Attempt        int                 `json:"attempt"`
	Status         string              `json:"status"`
	ResponseStatus *int                `json:"response_status"`
	Error          *string             `json:"error"`
	DurationMS     int64               `json:"duration_ms"`
	CreatedAt      tasktrack.JSONTime  `json:"created_at"`
	NextAttemptAt  *tasktrack.JSONTime `json:"next_attempt_at"`
}

func toWebhookAttemptJSON(a *tasktrack.WebhookAttempt) webhookAttemptJSON {
	return webhookAttemptJSON{ID: a.ID, EventID: a.EventID, EventType: a.EventType, Attempt: a.Attempt, Status: a.Status,
		ResponseStatus: a.ResponseStatus, Error: a.Error, DurationMS: a.DurationMS, CreatedAt: tasktrack.JSONTime(a.CreatedAt),
		NextAttemptAt: tasktrack.OptJSONTime(a.NextAttemptAt)}
}

// webhookInput reads the fields of a create or an update.
func webhookInput(f *form) tasktrack.WebhookInput {
	var in tasktrack.WebhookInput
	in.URL = f.strPtr("url")
	if f.has("events") {
		in.Events = f.strList("events")
		if in.Events == nil && len(f.errs["events"]) == 0 {
			in.Events = []string{}
		}
	}
	in.Format = f.strPtr("format")
	in.Description = f.strPtr("description")
	if v, ok := f.bool("is_active"); ok {
		in.IsActive = &v
	}
	return in
}

// resolveTimeout bounds the lookup of an endpoint's name at create.
const resolveTimeout = 3 * time.Second

// checkWebhookAddress refuses a URL whose host is an address that is not
// public, or a name all of whose addresses are not, unless private ones
// are allowed. A name that does not resolve now is let through: the
// sender records why it fails.
func (s *Server) checkWebhookAddress(ctx context.Context, raw *string) error {
	if raw == nil || s.WebhookAllowPrivate {
		return nil
	}
	u, err := url.Parse(*raw)
	if err != nil || u.Hostname() == "" {
		return nil // ValidateWebhook answers it
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		if !tasktrack.PublicAddr(a) {
			return badRequest("url", "This address is not public: loopback, private and link-local addresses are refused.")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(addrs) == 0 {
		return nil
	}
	for _, a := range addrs {
		if tasktrack.PublicAddr(a) {
			return nil
		}
	}
	return badRequest("url", "This name resolves only to addresses that are not public: loopback, private and link-local addresses are refused.")
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	hooks, total, err := s.Webhooks.FindWebhooks(r.Context(), p)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(hooks, toWebhookJSON), total, p)
	return nil
}

// webhookForm reads and checks a body; the route table has refused any
// caller who may not manage webhooks before it is read.
func (s *Server) webhookForm(r *http.Request) (tasktrack.WebhookInput, error) {
	f, err := decodeForm(r)
	if err != nil {
		return tasktrack.WebhookInput{}, err
	}
	in := webhookInput(f)
	if err := f.err(); err != nil {
		return in, err
	}
	errs := tasktrack.FieldErrors{}
	tasktrack.ValidateWebhook(errs, in)
	if err := errs.Err(); err != nil {
		return in, err
	}
	return in, s.checkWebhookAddress(r.Context(), in.URL)
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	in, err := s.webhookForm(r)
	if err != nil {
		return err
	}
	secret := tasktrack.NewWebhookSecret()
	hook, err := s.Webhooks.CreateWebhook(r.Context(), in, secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, webhookWithSecret{toWebhookJSON(hook), secret})
	return nil
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) error {
	hook, err := s.Webhooks.FindWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook))
	return nil
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) error {
	in, err := s.webhookForm(r)
	if err != nil {
		return err
	}
	hook, err := s.Webhooks.UpdateWebhook(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook))
	return nil
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRotateWebhook(w http.ResponseWriter, r *http.Request) error {
	secret := tasktrack.NewWebhookSecret()
	hook, err := s.Webhooks.RotateWebhookSecret(r.Context(), r.PathValue("id"), secret)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookWithSecret{toWebhookJSON(hook), secret})
	return nil
}

// accepted answers a request whose effect the outbox will make.
type accepted struct {
	Detail string `json:"detail"`
}

func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.PingWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, accepted{"A ping event is on its way."})
	return nil
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := query{r.URL.Query(), tasktrack.FieldErrors{}}
	p := q.page()
	status := q.Get("status")
	switch status {
	case "", "delivered", "retrying", "failed":
	default:
		q.errs.Add("status", `"`+status+`" is not a valid choice: delivered, retrying or failed.`)
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	attempts, total, err := s.Webhooks.FindWebhookAttempts(r.Context(), r.PathValue("id"), status, p)
	if err != nil {
		return err
	}
	writeList(w, r, s.PublicURL, mapSlice(attempts, toWebhookAttemptJSON), total, p)
	return nil
}

func (s *Server) handleRedeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.RedeliverWebhook(r.Context(), r.PathValue("id"), r.PathValue("delivery_id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, accepted{"The event is on its way again."})
	return nil
}
