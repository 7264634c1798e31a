package broker

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"
)

// kafkaLogger adapts the injected logger for franz-go at warn level and above: its
// info level narrates every group join and metadata refresh, which would bury the
// platform's own logs. CATALYST_LOG_LEVEL=debug lets everything through.
func kafkaLogger(log *slog.Logger, component string) kgo.Logger {
	return kslog.New(slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", component))
}

// minLevel drops records below min unless the wrapped handler is at debug level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	if h.Handler.Enabled(ctx, slog.LevelDebug) {
		return true
	}
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
