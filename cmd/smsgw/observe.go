package main

import (
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/smsgw/smsgw/config"
)

// newLogger builds the process logger from the log section of the configuration.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // Validate has checked it
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newRegistry is our own Prometheus registry (never the global default) with the Go
// runtime, process and build-info collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	bi := readBuildInfo()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "smsgw", Name: "build_info",
		Help:        "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	build.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	)
	return reg
}
