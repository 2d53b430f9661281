// GPU tests: built whenever BACKSCORE_CUDA is ON, skipped (and counted) without a device.
#include <gtest/gtest.h>

#include "kernels/device.hpp"

namespace backscore {
namespace {

TEST(GpuDevice, DiscoversADevice) {
  const cuda::DeviceInfo info = cuda::query_devices();
  if (info.count == 0) GTEST_SKIP() << "no CUDA device: " << info.why_none;
  const std::string name = cuda::describe_device(0);
  EXPECT_NE(name.find("sm_"), std::string::npos) << name;
}

TEST(GpuDevice, NoDeviceIsAnAnswerNotACrash) {
  // Whatever the machine, the query returns; a zero count always comes with a reason.
  const cuda::DeviceInfo info = cuda::query_devices();
  if (info.count == 0) {
    EXPECT_FALSE(info.why_none.empty());
  } else {
    EXPECT_GT(info.count, 0);
  }
}

}  // namespace
}  // namespace backscore
