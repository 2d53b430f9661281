// The Python module backscore._backscore: what its pieces share. The module calls the same C++
// as the CLI (host/cli's run_job, compare_job, audit_job, simulate_job; io/'s store, scores file
// and simulation file), so a number, a table and an error message are the CLI's. Nothing
// outside python/ includes this.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace backscore::python {

namespace py = pybind11;

// A numpy array that owns `values` (moved, not copied) with the given shape (C order).
template <typename T>
py::array_t<T> to_numpy(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule free_when_done(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owned->data(), free_when_done);
}

inline py::list to_list(const std::vector<std::string>& names) {
  py::list out;
  for (const std::string& n : names) out.append(py::str(n));
  return out;
}

void bind_errors(py::module_& m);
void bind_store(py::module_& m);
void bind_run(py::module_& m);
void bind_report(py::module_& m);
void bind_sim(py::module_& m);

}  // namespace backscore::python
