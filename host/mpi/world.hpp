// The MPI calls backscore-mpi makes, behind one small class: initialization and finalization
// (RAII), the rank's place in the job and on its node, and byte messages. Every call is made by
// the thread that constructed the world (MPI_THREAD_FUNNELED): the ranks' scoring runs on a
// thread of its own that never calls MPI (sharded_run.cpp). A failed MPI call ends the job
// (MPI's default error handler): the job cannot go on without its messages.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace backscore::mpi {

class World {
 public:
  // MPI_Init_thread; throws std::runtime_error when MPI cannot give MPI_THREAD_FUNNELED.
  World(int* argc, char*** argv);
  ~World();  // MPI_Finalize
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The rank among those on its node (MPI_Comm_split_type, MPI_COMM_TYPE_SHARED): which GPU it
  // takes, and how many ranks share the node's cores.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  struct Message {
    int source = 0;
    int tag = 0;
    std::vector<unsigned char> bytes;
  };
  // Sends `bytes` to rank `to` (blocking until MPI has them).
  void send(int to, int tag, std::span<const unsigned char> bytes) const;
  // A message from any rank with any tag, when one has arrived (never blocks).
  std::optional<Message> poll() const;
  // Waits for a message from `from` with `tag`.
  Message receive(int from, int tag) const;
  // Rank `root`'s bytes on every rank (the others' `bytes` are ignored).
  std::vector<unsigned char> broadcast(std::vector<unsigned char> bytes, int root) const;
  // Every rank's value, in rank order, on every rank.
  std::vector<std::int64_t> all_gather(std::int64_t value) const;
  // Ends every rank of the job with `status` (the last resort, when the agreed shutdown cannot
  // be reached).
  [[noreturn]] void abort(int status) const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};

}  // namespace backscore::mpi
