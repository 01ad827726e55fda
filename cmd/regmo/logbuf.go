package main

import (
	"io"
	"sync"
	"time"
)

// logBuffer collects the log's lines and hands them to the writer in batches: serve logs a
// line per request, and writing each at once costs a system call per request (make bench's
// profile of GET one). It writes when a line no longer fits, at least every interval, and on
// Close, which serve's shutdown runs. A crash loses at most the last interval's lines; the
// request log is no audit trail (that is events, in PostgreSQL). Each Write is one whole line
// (slog writes a record at once), so a batch never splits one.
type logBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// newLogBuffer buffers up to size bytes for w and writes them at least every interval.
func newLogBuffer(w io.Writer, size int, every time.Duration) *logBuffer {
	b := &logBuffer{w: w, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(every)
	return b
}

func (b *logBuffer) flushEvery(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_ = b.Flush()
		}
	}
}

// Write buffers p; a p larger than the buffer goes straight to the writer, after what is
// buffered.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes what is buffered.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// flushLocked writes the buffer and empties it even when the write fails: a writer that
// fails once (a full disk) must not keep the log from ever writing again.
func (b *logBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close stops the timer and writes what is buffered; a line logged after it (the deferred
// closes of serve) is written at once, so that none is lost.
func (b *logBuffer) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.flushLocked()
	b.buf = b.buf[:0:0] // no capacity: Write passes every line through

	return err
}
