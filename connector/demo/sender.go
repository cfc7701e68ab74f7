package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// Sender posts signed webhook deliveries to a running connector, the way
// the platforms do.
type Sender struct {
	// BaseURL is the connector's URL, such as http://127.0.0.1:8080.
	BaseURL string
	HTTP    *http.Client
}

// Response is a connector's answer to one delivery.
type Response struct {
	Status int
	Body   string
}

// WhatsApp posts a Cloud API delivery signed with appSecret.
func (s *Sender) WhatsApp(ctx context.Context, tenant, channel, appSecret string, body []byte) (Response, error) {
	return s.Post(ctx, tenant, channel, body, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, body))
}

// WebChat posts a web chat delivery signed with secret.
func (s *Sender) WebChat(ctx context.Context, tenant, channel, secret string, body []byte) (Response, error) {
	return s.Post(ctx, tenant, channel, body, webchat.SignatureHeader, webchat.Sign(secret, body))
}

// Post posts body to /webhooks/{tenant}/{channel} with one signature header.
func (s *Sender) Post(ctx context.Context, tenant, channel string, body []byte, header, signature string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BaseURL+"/webhooks/"+tenant+"/"+channel, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set(header, signature)
	}
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("post to %s/%s: %w", tenant, channel, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Response{}, fmt.Errorf("read answer of %s/%s: %w", tenant, channel, err)
	}
	return Response{Status: resp.StatusCode, Body: string(b)}, nil
}
