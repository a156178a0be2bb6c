// StreamLoop: many streamed requests (followed logs) on one thread. A
// thread and a connection per stream does not scale to a thousand running
// tasks; a loop runs every stream's transfer on one thread, and over
// HTTP/2 (the API server speaks it over TLS) the streams share a few
// connections. It also runs timers, so the state of what is streamed —
// re-follows, backoffs — lives on the loop's thread with no locks.
//
// Contract:
//  - Post(fn, delay) runs `fn` on the loop's thread after `delay` (zero: as
//    soon as it can), posts with equal deadlines in order. From any thread.
//  - Start and Cancel are for the loop's thread only (from a posted function
//    or a stream's callback).
//  - Start(request, on_data, on_done) begins a streamed request as
//    Client::Stream does: a 2xx body goes to on_data as it arrives, a
//    non-2xx body is kept for the Response; on_done gets the outcome once —
//    the Response (status, headers), or the error (kCancelled when on_data
//    returned false). Request::stop and Request::timeout are not used: a
//    stream ends by itself, by its server, or by Cancel.
//  - Cancel(id): neither callback of that stream runs afterwards; unknown or
//    finished ids are ignored. Safe from inside the stream's own callbacks.
//  - Destruction ends every stream without calling back and drops what is
//    posted and not yet run.
//
// Thread-safety: as above; `streams()` and `connections()` from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "http/client.h"
#include "util/error.h"

namespace ctask::http {

class StreamLoop {
 public:
  using StreamId = uint64_t;
  using DoneCallback = std::function<void(Result<Response>)>;

  virtual ~StreamLoop() = default;

  virtual void Post(std::function<void()> fn, std::chrono::milliseconds delay = std::chrono::milliseconds(0)) = 0;
  virtual bool InLoop() const = 0;

  virtual StreamId Start(Request request, DataCallback on_data, DoneCallback on_done) = 0;
  virtual void Cancel(StreamId id) = 0;

  // Streams running now (started, not yet done or cancelled), and the
  // connections the loop holds open for them.
  virtual size_t streams() const = 0;
  virtual size_t connections() const = 0;
};

}  // namespace ctask::http
