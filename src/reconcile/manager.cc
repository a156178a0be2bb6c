#include "reconcile/manager.h"

namespace ctask::reconcile {

Manager::Manager(store::Store& store, runtime::Runtime& runtime, runtime::LogSource& logs, ManagerOptions options)
    : queue_(*options.clock) {
  queue_.SetObserver(std::move(options.queue_observer));
  // The end of a follow is the prompt sign that an attempt exited.
  archiver_ = std::make_unique<LogArchiver>(
      store, logs, [this](const std::string& key) { queue_.Add(key); }, std::move(options.display));
  reconciler_ = std::make_unique<TaskReconciler>(store, runtime, *archiver_, *options.clock, options.reconciler,
                                                 std::move(options.on_status), std::move(options.on_event));
  controller_ = std::make_unique<Controller>(*reconciler_, queue_, options.workers, std::move(options.on_result),
                                             std::move(options.on_duration), *options.clock);
}

Manager::~Manager() {
  Stop();
}

void Manager::AddPollSource(std::chrono::milliseconds interval, PollSource::Poll poll) {
  sources_.push_back(std::make_unique<PollSource>(queue_, interval, std::move(poll)));
}

void Manager::Start() {
  if (started_) return;
  started_ = true;
  controller_->Start();
  for (const auto& source : sources_) source->Start();
}

void Manager::Stop() {
  for (const auto& source : sources_) source->Stop();
  if (controller_) controller_->Stop();  // the queue shuts down; workers finish their key
  archiver_.reset();                     // followers stop; workloads run on
}

}  // namespace ctask::reconcile
