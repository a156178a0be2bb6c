#include "kube/log_streams.h"

#include <future>
#include <limits>
#include <optional>
#include <utility>

#include "util/backoff.h"

namespace ctask::kube {

struct LogStreams::State {
  FollowId id = 0;
  std::string ns;
  FindPod find_pod;
  std::string pod;   // once found
  std::string what;  // "follow the log of pod ns/name", for errors
  LogFollowOptions options;
  StillRunning still_running;
  LineCallback on_line;
  EndCallback on_end;

  LogCursor cursor{false};
  std::optional<http::StreamLoop::StreamId> stream;
  int failures = 0;        // streams in a row that brought no data
  bool first = true;       // no stream yet: options.since_time / tail_lines apply
  bool last_read = false;  // the container has ended: this read fetches the rest
  bool received = false;   // this stream brought data
  bool reader_stopped = false;
  bool dropped = false;  // stopped or ended: nothing more reaches the caller

  // What the cursor delivers to: on_line until the follow is dropped.
  LineCallback Emit() {
    return [this](std::string_view line) { return !dropped && on_line(line); };
  }
};

LogStreams::LogStreams(KubeClient& client, http::StreamLoop& loop) : client_(client), loop_(loop) {}

LogStreams::~LogStreams() {
  RunInLoop([this] {
    while (!follows_.empty()) Drop(follows_.begin()->first);
    Sweep();
  });
}

void LogStreams::RunInLoop(std::function<void()> fn) {
  if (loop_.InLoop()) {
    fn();
    return;
  }
  std::promise<void> done;
  std::future<void> ran = done.get_future();
  loop_.Post([&fn, &done] {
    fn();
    done.set_value();
  });
  ran.wait();
}

LogStreams::FollowId LogStreams::Follow(std::string ns, FindPod find_pod, LogFollowOptions options,
                                        StillRunning still_running, LineCallback on_line, EndCallback on_end,
                                        std::chrono::milliseconds delay) {
  auto state = std::make_unique<State>();
  state->id = next_id_++;
  state->what = "follow the log of a pod in namespace " + ns;
  state->ns = std::move(ns);
  state->find_pod = std::move(find_pod);
  state->cursor = LogCursor(options.timestamps);
  state->options = std::move(options);
  state->still_running = std::move(still_running);
  state->on_line = std::move(on_line);
  state->on_end = std::move(on_end);
  const FollowId id = state->id;
  ++following_;
  // Posted at once, the delay kept by the state: a Stop posted after this
  // then always finds it.
  auto begin = std::make_shared<std::unique_ptr<State>>(std::move(state));
  loop_.Post([this, begin, delay] { Begin(std::move(*begin), delay); });
  return id;
}

void LogStreams::Stop(FollowId id) {
  RunInLoop([this, id] { Drop(id); });
}

void LogStreams::Begin(std::unique_ptr<State> state, std::chrono::milliseconds delay) {
  Sweep();
  const FollowId id = state->id;
  follows_.emplace(id, std::move(state));
  if (delay.count() > 0) {
    loop_.Post([this, id] { Resolve(id); }, delay);
  } else {
    Resolve(id);
  }
}

void LogStreams::Resolve(FollowId id) {
  Sweep();
  auto it = follows_.find(id);
  if (it == follows_.end()) return;  // stopped while it waited
  State& f = *it->second;
  Result<std::string> pod = f.find_pod();
  if (!pod) return End(id, std::unexpected(pod.error()));
  f.pod = std::move(*pod);
  f.what = "follow the log of pod " + f.ns + "/" + f.pod;
  Request(id);
}

void LogStreams::Drop(FollowId id) {
  auto it = follows_.find(id);
  if (it == follows_.end()) return;
  if (it->second->stream) loop_.Cancel(*it->second->stream);
  it->second->dropped = true;
  retired_.push_back(std::move(it->second));
  follows_.erase(it);
  --following_;
}

void LogStreams::Sweep() {
  retired_.clear();
}

void LogStreams::End(FollowId id, Status status) {
  auto it = follows_.find(id);
  if (it == follows_.end()) return;
  EndCallback on_end = std::move(it->second->on_end);
  Drop(id);
  if (on_end) on_end(std::move(status));
}

void LogStreams::Request(FollowId id) {
  Sweep();
  if (!follows_.contains(id)) return;  // stopped while it waited
  const std::chrono::nanoseconds turn = client_.ReserveTurn();
  if (turn.count() > 0) {
    loop_.Post([this, id] { Send(id); }, std::chrono::ceil<std::chrono::milliseconds>(turn));
    return;
  }
  Send(id);
}

void LogStreams::Send(FollowId id) {
  Sweep();
  auto it = follows_.find(id);
  if (it == follows_.end()) return;
  State& f = *it->second;
  LogOptions request;
  request.container = f.options.container;
  request.follow = !f.last_read;
  request.timestamps = true;
  if (!f.first) f.cursor.Restart();
  request.since_time = f.cursor.SinceTime();
  if (request.since_time.empty()) {
    request.since_time = f.options.since_time;
    request.tail_lines = f.options.tail_lines;
  }
  f.first = false;
  f.received = false;
  Result<http::Request> built = client_.LogRequest(f.ns, f.pod, request);
  if (!built) {
    End(id, std::unexpected(built.error()));
    return;
  }
  auto on_data = [this, id](std::string_view chunk) {
    Sweep();
    auto it = follows_.find(id);
    if (it == follows_.end()) return false;
    State& f = *it->second;
    f.received = f.received || !chunk.empty();
    if (!f.cursor.Feed(chunk, f.Emit())) {
      f.reader_stopped = true;
      return false;
    }
    return true;
  };
  f.stream = loop_.Start(std::move(*built), std::move(on_data),
                         [this, id](Result<http::Response> response) { StreamEnded(id, response); });
}

void LogStreams::StreamEnded(FollowId id, const Result<http::Response>& response) {
  Sweep();
  auto it = follows_.find(id);
  if (it == follows_.end()) return;
  State& f = *it->second;
  f.stream.reset();
  if (f.reader_stopped) return End(id, MakeError(ErrorCode::kCancelled, f.what + ": stopped by the reader"));
  Status streamed = client_.LogOutcome(f.ns, f.pod, response, f.received);
  if (!streamed) {
    const ErrorCode code = streamed.error().code();
    if ((code != ErrorCode::kUnavailable && code != ErrorCode::kDeadlineExceeded) || f.last_read) {
      return End(id, streamed);
    }
  }
  // 1. Is there more to come?
  const std::optional<bool> running = AskStillRunning(id);
  if (!running) return;
  if (!*running && streamed) return Finish(id);
  // 2. The stream broke and the container has ended since: read the rest
  // once, without following.
  f.last_read = !*running;
  // 3. Back off, less after a stream that brought data.
  if (f.received) f.failures = 0;
  const auto wait = ExponentialBackoff(kFollowInitialBackoff, kFollowMaxBackoff, f.failures);
  if (f.failures < std::numeric_limits<int>::max()) ++f.failures;
  // 4. A clean end while the cache still shows the container running: the
  // kubelet ends a follow when the container exits, and the pod update
  // saying so often reaches the cache just after (a task whose container
  // ran for no time). Look again once the backoff has passed, and ask for
  // more only if it still runs: a third of such tasks' log requests were
  // this second one (bench/operator_kube.sh).
  if (streamed) {
    loop_.Post([this, id] { LookAgain(id); }, wait);
  } else {
    loop_.Post([this, id] { Request(id); }, wait);
  }
}

void LogStreams::LookAgain(FollowId id) {
  Sweep();
  if (!follows_.contains(id)) return;  // stopped while it waited
  const std::optional<bool> running = AskStillRunning(id);
  if (!running) return;
  if (*running) return Request(id);
  Finish(id);
}

std::optional<bool> LogStreams::AskStillRunning(FollowId id) {
  State& f = *follows_.at(id);
  Result<bool> running = f.still_running();
  if (f.dropped) return std::nullopt;  // stopped from inside still_running
  if (!running) {
    End(id, std::unexpected(running.error().WithContext(f.what + ": check whether the container runs")));
    return std::nullopt;
  }
  return *running;
}

void LogStreams::Finish(FollowId id) {
  State& f = *follows_.at(id);
  if (!f.cursor.Finish(f.Emit())) {
    return End(id, MakeError(ErrorCode::kCancelled, f.what + ": stopped by the reader"));
  }
  End(id, {});
}

}  // namespace ctask::kube
