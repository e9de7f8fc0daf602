package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifyReady tells systemd (Type=notify) that start-up is complete. Outside systemd it
// does nothing.
func notifyReady(log *slog.Logger) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("sd_notify ready failed", "error", err)
	} else if ok {
		log.Debug("told systemd we are ready")
	}
}

// watchdog pings systemd's watchdog at half its interval while check passes, so a wedged
// process (for instance a database that no longer answers) is restarted. Without
// WatchdogSec it returns when ctx is done.
func watchdog(ctx context.Context, log *slog.Logger, check func(context.Context) error) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
			return nil
		case <-t.C:
			cctx, cancel := context.WithTimeout(ctx, interval/4)
			err := check(cctx)
			cancel()
			if err != nil {
				log.Error("health check failed; not feeding the systemd watchdog", "error", err)
				continue
			}
			_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}
