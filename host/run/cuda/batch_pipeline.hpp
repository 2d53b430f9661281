// The device work of one batch: every stage of the era's BatchPlan, enqueued on one lane's stream
// (kernels, cuBLAS with the lane's handle), ending with the copy of the results to the lane's
// pinned buffer and the lane's `done` event.
#pragma once

#include <cstddef>

#include "host/run/cuda/batch_plan.hpp"
#include "host/run/cuda/era_device_data.hpp"
#include "host/run/cuda/lane.hpp"

namespace backscore::cuda {

// Enqueues the batch of `models` columns whose predictions are in lane.buffers.pred.
void enqueue_batch(Lane& lane, const EraDeviceData& era, const BatchPlan& plan, std::size_t models);

}  // namespace backscore::cuda
