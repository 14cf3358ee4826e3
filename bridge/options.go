package bridge

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// SetOptions applies options given as JSON (zig_h3_server_set_options) to
// the server's configuration; only before Start. Absent fields keep their
// value: {"certPem": "...", "keyPem": "...", "maxRequestBodySize": 1048576,
// "maxHeaderBytes": 65536, "quicAlpn": ["x"], "webtransportOrigins": ["*"],
// "enableDatagrams": true, "enableWebTransport": true, "requestTimeoutMs":
// 60000 (0: none), "headerTimeoutMs": 5000 (0: none), "maxHeaderFields":
// 200, "maxConnections": 10000, "maxStreamsPerConnection": 100, "tcp": true,
// "altSvc": "h3=\":443\"" (or false: none)}, and the options of many
// workers (see decodeScaleOptions).
func (b *Server) SetOptions(spec []byte) error {
	return b.UpdateConfig(func(cfg *server.Config) error { return decodeOptions(spec, cfg) })
}

// decodeOptions decodes the JSON options onto cfg, a copy that is thrown
// away on error: each field is decoded straight into the Config field it
// sets, so absent ones are left alone.
func decodeOptions(spec []byte, cfg *server.Config) error {
	var certPEM, keyPEM *string
	var timeoutMs, headerTimeoutMs *int64
	var altSvc json.RawMessage
	o := struct {
		CertPEM                 **string         `json:"certPem"`
		KeyPEM                  **string         `json:"keyPem"`
		MaxRequestBodySize      *int64           `json:"maxRequestBodySize"`
		MaxHeaderBytes          *int             `json:"maxHeaderBytes"`
		QuicAlpn                *[]string        `json:"quicAlpn"`
		WebTransportOrigins     *[]string        `json:"webtransportOrigins"`
		EnableDatagrams         *bool            `json:"enableDatagrams"`
		EnableWebTransport      *bool            `json:"enableWebTransport"`
		RequestTimeoutMs        **int64          `json:"requestTimeoutMs"`
		HeaderTimeoutMs         **int64          `json:"headerTimeoutMs"`
		MaxHeaderFields         *int             `json:"maxHeaderFields"`
		MaxConnections          *int             `json:"maxConnections"`
		MaxStreamsPerConnection *int             `json:"maxStreamsPerConnection"`
		TCP                     *bool            `json:"tcp"`
		AltSvc                  *json.RawMessage `json:"altSvc"`
	}{&certPEM, &keyPEM, &cfg.MaxRequestBodySize, &cfg.MaxHeaderBytes, &cfg.QuicAlpn, &cfg.WebTransportOrigins,
		&cfg.EnableDatagrams, &cfg.EnableWebTransport, &timeoutMs, &headerTimeoutMs, &cfg.MaxHeaderFields,
		&cfg.MaxConnections, &cfg.MaxStreamsPerConnection, &cfg.TCP, &altSvc}
	if err := json.Unmarshal(spec, &o); err != nil {
		return fmt.Errorf("%w: options: %v", server.ErrInvalidArgument, err)
	}
	if (certPEM == nil) != (keyPEM == nil) {
		return fmt.Errorf("%w: certPem and keyPem must be given together", server.ErrConfig)
	}
	if certPEM != nil {
		cfg.CertPEM, cfg.KeyPEM, cfg.CertPath, cfg.KeyPath = []byte(*certPEM), []byte(*keyPEM), "", ""
	}
	setTimeout(&cfg.RequestTimeout, timeoutMs)
	setTimeout(&cfg.HeaderTimeout, headerTimeoutMs)
	if err := decodeScaleOptions(spec, cfg); err != nil {
		return err
	}
	return decodeAltSvc(altSvc, cfg)
}

// setTimeout sets d from a JSON value in milliseconds, if given; 0 means
// none (a negative duration in the Config).
func setTimeout(d *time.Duration, ms *int64) {
	if ms == nil {
		return
	}
	*d = time.Duration(*ms) * time.Millisecond
	if *ms == 0 {
		*d = -1
	}
}

// decodeAltSvc applies "altSvc": a string sets the field, false turns it
// off; absent or null keeps it.
func decodeAltSvc(raw json.RawMessage, cfg *server.Config) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if string(raw) == "false" {
		cfg.AltSvc, cfg.NoAltSvc = "", true
		return nil
	}
	if err := json.Unmarshal(raw, &cfg.AltSvc); err != nil || cfg.AltSvc == "" {
		return fmt.Errorf("%w: altSvc must be a non-empty string or false", server.ErrInvalidArgument)
	}
	cfg.NoAltSvc = false
	return nil
}
