package bridge

import (
	"context"
	"io"
	"time"

	"github.com/zig-h3/h3bun/server"
)

// streamLinger is how long a finished stream's handle stays valid.
const streamLinger = 5 * time.Second

// Stream is a WebTransport stream handed to a consumer by handle: incoming
// data is delivered as events (paced by AckData), and Send never blocks
// (EventWritable paces the writer).
type Stream struct {
	wtStream
	Handle uint64
	sess   *Session
	credit *credit // readable streams
	out    *outbox // writable streams

	ctx    context.Context
	cancel context.CancelFunc
}

func newStream(s *Session, st wtStream) *Stream {
	bs := &Stream{wtStream: st, Handle: Streams.New(), sess: s}
	bs.ctx, bs.cancel = context.WithCancel(context.Background())
	if st.Readable() {
		bs.credit = newCredit()
	}
	if st.Writable() {
		bs.out = newOutbox(bs.writable)
	}
	return bs
}

func (st *Stream) writable() {
	if q := st.sess.q; q != nil {
		_ = q.PushControl(encodeWritable(st.Handle))
	}
}

// start runs the stream's reader and writer; the stream is forgotten a
// while after both are done.
func (st *Stream) start() {
	done := make(chan struct{}, 2)
	parts := 0
	if st.credit != nil {
		parts++
		go func() {
			defer func() { done <- struct{}{} }()
			st.pumpIncoming()
		}()
	}
	if st.out != nil {
		parts++
		go func() {
			defer func() { done <- struct{}{} }()
			st.out.run(st.ctx, st.wtStream, st.wtStream.Close)
		}()
	}
	go func() {
		for i := 0; i < parts; i++ {
			<-done
		}
		// Keep the handle a while: the consumer may still acknowledge data.
		time.AfterFunc(streamLinger, st.forget)
	}()
}

// pumpIncoming delivers the readable side as EventStreamData events and a
// final EventStreamEnd (FIN, or the peer's reset code).
func (st *Stream) pumpIncoming() {
	q := st.sess.q
	if q == nil {
		_ = st.StopReading(0)
		return
	}
	pumpToQueue(st.ctx, q, st.credit, st.Read,
		EventStreamData, st.Handle,
		func(err error) []byte {
			if err == io.EOF {
				return encodeStreamEnd(st.Handle, false, 0)
			}
			code, _ := streamResetCode(err)
			return encodeStreamEnd(st.Handle, true, code)
		})
}

// forget drops the stream's handle and stops its goroutines.
func (st *Stream) forget() {
	st.cancel()
	Streams.Delete(st.Handle)
	st.sess.removeStream(st)
}

// Send records data (copied) and, with fin, the end of the stream; it
// returns the bytes pending (pause at server.ResponseHighWater until
// EventWritable). ErrState on a receive-only stream.
func (st *Stream) Send(p []byte, fin bool) (int, error) {
	if st.out == nil {
		return 0, server.ErrState
	}
	return st.out.send(p, fin)
}

// AckData acknowledges n bytes delivered as EventStreamData.
func (st *Stream) AckData(n int) error {
	if st.credit == nil || n < 0 {
		return server.ErrState
	}
	st.credit.ack(n)
	return nil
}

// Reset abandons the stream (see server.Stream.Reset) and its handle.
func (st *Stream) Reset(code uint32) {
	st.wtStream.Reset(code)
	st.forget()
}
