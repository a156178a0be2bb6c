#include "http/curl_stream_loop.h"

#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

#include "http/curl_easy.h"

namespace ctask::http {

struct CurlStreamLoop::Stream {
  StreamId id = 0;
  Request request;
  DataCallback on_data;
  DoneCallback on_done;
  Response response;
  TransferState state;
  SlistPtr headers;
  std::string target;
  CURL* curl = nullptr;
  bool cancelled = false;
};

namespace {

// The longest the loop sleeps with nothing due: libcurl's own timeouts (a
// connect timeout) cut it shorter, a post or a new stream wakes it at once.
constexpr std::chrono::milliseconds kIdleWait{1'000};

CURLM* Multi(void* multi) {
  return static_cast<CURLM*>(multi);
}

// libcurl opens and closes the loop's sockets through these, so the loop
// can say how many connections its streams hold.
curl_socket_t OpenSocket(void* count, curlsocktype, curl_sockaddr* address) {
  const curl_socket_t fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd != CURL_SOCKET_BAD) ++*static_cast<std::atomic<size_t>*>(count);
  return fd;
}

int CloseSocket(void* count, curl_socket_t fd) {
  --*static_cast<std::atomic<size_t>*>(count);
  return ::close(fd);
}

}  // namespace

CurlStreamLoop::CurlStreamLoop(CurlOptions options) : options_(std::move(options)) {
  InitCurlOnce();
  multi_ = curl_multi_init();
  if (multi_ != nullptr) curl_multi_setopt(Multi(multi_), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  thread_ = std::jthread([this](const std::stop_token& stop) { Run(stop); });
}

CurlStreamLoop::~CurlStreamLoop() {
  thread_.request_stop();
  if (multi_ != nullptr) curl_multi_wakeup(Multi(multi_));
  thread_.join();
  for (auto& [id, stream] : streams_) Forget(stream.get());
  RemoveCancelled();
  if (multi_ != nullptr) curl_multi_cleanup(Multi(multi_));
}

void CurlStreamLoop::Post(std::function<void()> fn, std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(mu_);
    timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
  }
  if (multi_ != nullptr) curl_multi_wakeup(Multi(multi_));
}

bool CurlStreamLoop::InLoop() const {
  return std::this_thread::get_id() == thread_.get_id();
}

StreamLoop::StreamId CurlStreamLoop::Start(Request request, DataCallback on_data, DoneCallback on_done) {
  auto stream = std::make_unique<Stream>();
  stream->id = next_id_++;
  stream->request = std::move(request);
  // Cancelled inside a callback, the transfer runs on until libcurl returns:
  // what still arrives goes nowhere.
  stream->on_data = [s = stream.get(), on_data = std::move(on_data)](std::string_view chunk) {
    return !s->cancelled && on_data(chunk);
  };
  stream->on_done = std::move(on_done);
  stream->target = TargetOf(stream->request, options_);
  stream->state.on_data = &stream->on_data;
  stream->state.response = &stream->response;
  const StreamId id = stream->id;
  auto fail = [&](Error error) {
    // Reported from the loop, never from inside Start: the caller may still
    // be setting up what on_done touches.
    Post([done = std::move(stream->on_done), error = std::move(error)] { done(std::unexpected(error)); }, {});
    return id;
  };
  if (multi_ == nullptr) return fail(Error(ErrorCode::kInternal, stream->target + ": curl_multi_init failed"));
  stream->curl = curl_easy_init();
  if (stream->curl == nullptr) return fail(Error(ErrorCode::kInternal, stream->target + ": curl_easy_init failed"));
  Status set = SetUpTransfer(stream->curl, options_, stream->request, stream->state, stream->headers, stream->target);
  if (set) {
    // Share a connection that multiplexes rather than open one per stream.
    curl_easy_setopt(stream->curl, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(stream->curl, CURLOPT_PRIVATE, stream.get());
    // A follow may be quiet for hours: keepalives find a dead peer.
    curl_easy_setopt(stream->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(stream->curl, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
    curl_easy_setopt(stream->curl, CURLOPT_OPENSOCKETDATA, &sockets_);
    curl_easy_setopt(stream->curl, CURLOPT_CLOSESOCKETFUNCTION, &CloseSocket);
    curl_easy_setopt(stream->curl, CURLOPT_CLOSESOCKETDATA, &sockets_);
  }
  if (!set || curl_multi_add_handle(Multi(multi_), stream->curl) != CURLM_OK) {
    curl_easy_cleanup(stream->curl);
    stream->curl = nullptr;
    return fail(!set ? set.error() : Error(ErrorCode::kInternal, stream->target + ": curl_multi_add_handle failed"));
  }
  streams_.emplace(id, std::move(stream));
  ++stream_count_;
  return id;
}

void CurlStreamLoop::Cancel(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second->cancelled = true;
  cancelled_.push_back(std::move(it->second));
  streams_.erase(it);
  --stream_count_;
  // Taken off the multi handle once the loop is outside libcurl (Run).
}

void CurlStreamLoop::Forget(Stream* stream) {
  if (stream->curl == nullptr) return;
  curl_multi_remove_handle(Multi(multi_), stream->curl);
  curl_easy_cleanup(stream->curl);
  stream->curl = nullptr;
}

void CurlStreamLoop::RemoveCancelled() {
  for (auto& stream : cancelled_) Forget(stream.get());
  cancelled_.clear();
}

std::chrono::milliseconds CurlStreamLoop::RunDue() {
  while (true) {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (timers_.empty()) return kIdleWait;
      const auto now = std::chrono::steady_clock::now();
      auto first = timers_.begin();
      if (first->first > now) {
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(first->first - now);
        return std::min(wait, kIdleWait);
      }
      fn = std::move(first->second);
      timers_.erase(first);
    }
    fn();
  }
}

void CurlStreamLoop::Reap() {
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(Multi(multi_), &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    const CURLcode code = message->data.result;
    void* priv = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &priv);
    auto* stream = static_cast<Stream*>(priv);
    if (stream == nullptr || stream->cancelled) continue;  // its removal is RemoveCancelled's
    Result<Response> outcome = FinishTransfer(code, stream->state, stream->request, options_, stream->target);
    Forget(stream);
    auto it = streams_.find(stream->id);
    std::unique_ptr<Stream> owned = std::move(it->second);
    streams_.erase(it);
    --stream_count_;
    owned->on_done(std::move(outcome));  // may Start or Cancel others
  }
}

void CurlStreamLoop::Run(const std::stop_token& stop) {
  if (multi_ == nullptr) return;
  while (!stop.stop_requested()) {
    const std::chrono::milliseconds wait = RunDue();
    RemoveCancelled();
    int running = 0;
    curl_multi_perform(Multi(multi_), &running);
    RemoveCancelled();  // those cancelled from inside their callbacks
    Reap();
    RemoveCancelled();
    curl_multi_poll(Multi(multi_), nullptr, 0, static_cast<int>(wait.count()), nullptr);
  }
}

}  // namespace ctask::http
