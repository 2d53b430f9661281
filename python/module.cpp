// backscore._backscore: the module's entry point and its errors. The pure-Python package
// (python/backscore/) wraps it: pandas frames, the import of Numerai's files.
#include <new>
#include <stdexcept>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "python/bindings.hpp"
#include "version.hpp"

namespace backscore::python {

// The CLI's contract (host/cli/errors.hpp) in Python: what the CLI prints as one line with exit 2
// is raised as backscore.InputError (a ValueError) or backscore.ResourceLimitError, both
// backscore.Error, carrying the same line without the "backscore: error: " prefix. Anything else
// is pybind11's mapping (MemoryError, RuntimeError for an internal error).
void bind_errors(py::module_& m) {
  static PyObject* base = PyErr_NewException("backscore.Error", PyExc_Exception, nullptr);
  static PyObject* input = PyErr_NewException(
      "backscore.InputError", py::make_tuple(py::handle(base), py::handle(PyExc_ValueError)).release().ptr(),
      nullptr);
  static PyObject* limit = PyErr_NewException("backscore.ResourceLimitError", base, nullptr);
  m.attr("Error") = py::handle(base);
  m.attr("InputError") = py::handle(input);
  m.attr("ResourceLimitError") = py::handle(limit);
  py::register_exception_translator([](std::exception_ptr p) {
    if (!p) return;
    try {
      std::rethrow_exception(p);
    } catch (const InputError& e) {
      PyErr_SetString(input, e.what());
    } catch (const h5::Hdf5Error& e) {
      PyErr_SetString(input, e.what());
    } catch (const ResourceLimitError& e) {
      PyErr_SetString(limit, e.what());
    }
  });
}

}  // namespace backscore::python

PYBIND11_MODULE(_backscore, m) {
  namespace bp = backscore::python;
  m.doc() = "backscore's C++ engine (use the package backscore, which wraps it)";
  m.attr("__version__") = backscore::kVersion;
  bp::bind_errors(m);
  bp::bind_store(m);
  bp::bind_run(m);
  bp::bind_report(m);
  bp::bind_sim(m);
}
