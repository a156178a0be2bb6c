#include "reconcile/manager.h"

namespace ctask::reconcile {

Manager::Manager(store::Store& store, runtime::Runtime& runtime, runtime::LogSource& logs, ManagerOptions options)
    : store_(store),
      queue_(*options.clock),
      admitter_(std::move(options.limits), {}, *options.clock, options.reconciler.kueue) {
  queue_.SetObserver(std::move(options.queue_observer));
  // A task whose turn has come is reconciled at once.
  admitter_.SetWake([this](const std::string& key) { queue_.Add(key); });
  // The end of a follow is the prompt sign that an attempt exited: its
  // status goes before a backlog of tasks not started yet.
  archiver_ = std::make_unique<LogArchiver>(
      store, logs, [this](const std::string& key) { queue_.Add(key, Priority::kHigh); }, std::move(options.display));
  reconciler_ = std::make_unique<TaskReconciler>(store, runtime, *archiver_, *options.clock, options.reconciler,
                                                 std::move(options.on_status), std::move(options.on_event), &admitter_);
  reconciler_->SetWake([this](const std::string& key) { queue_.Add(key); });
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
  // Who holds a slot is in the records: count them all before any worker
  // may admit a task. An unreadable list leaves the book empty; the first
  // reconcile of each task fills it in.
  // One record at a time: 10,000 decoded side by side were the process's
  // peak, and what the allocator kept of it its resident set ever after.
  admitter_.TrackAll([this](const Admitter::RecordVisitor& track) {
    (void)store_.ForEach([&](store::ListEntry entry) {
      if (entry.task) track(*entry.task);
    });
  });
  controller_->Start();
  for (const auto& source : sources_) source->Start();
}

void Manager::Stop() {
  for (const auto& source : sources_) source->Stop();
  if (controller_) controller_->Stop();  // the queue shuts down; workers finish their key
  archiver_.reset();                     // followers stop; workloads run on
}

}  // namespace ctask::reconcile
