// Package logging builds the connector's zerolog logger and adapts it for
// the libraries that log on their own: the standard log package (used by
// simpleforce), robfig/cron and go-retryablehttp.
package logging

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns a JSON (or console) logger at level, with a timestamp. The
// console format writes colour codes only to a terminal (see Colourful).
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !Colourful(w)}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Colourful reports whether w is a terminal that should get colour codes:
// a file that is a terminal, unless the NO_COLOR environment variable is
// set (https://no-color.org). Pipes, files and buffers get none.
func Colourful(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	return isatty.IsTerminal(f.Fd())
}

// RedirectStdLog sends the standard log package's output to l at debug
// level, under component "stdlog". simpleforce writes a line there for each
// failed call; the connector reports those failures itself, with context.
func RedirectStdLog(l zerolog.Logger) {
	log.SetFlags(0)
	log.SetOutput(stdWriter{l.With().Str("component", "stdlog").Logger()})
}

type stdWriter struct{ l zerolog.Logger }

func (s stdWriter) Write(p []byte) (int, error) {
	s.l.Debug().Msg(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Cron adapts l to robfig/cron's Logger.
type Cron struct{ L zerolog.Logger }

// Info logs cron's routine messages at debug level.
func (c Cron) Info(msg string, keysAndValues ...any) {
	c.L.Debug().Fields(keysAndValues).Msg(msg)
}

// Error logs cron's errors (including recovered panics) at error level.
func (c Cron) Error(err error, msg string, keysAndValues ...any) {
	c.L.Error().Err(err).Fields(keysAndValues).Msg(msg)
}

// Millis is d in milliseconds, to the microsecond. The connector's log
// writes every duration as a number in a field whose name ends in _ms, so
// that its unit is in its name.
func Millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
