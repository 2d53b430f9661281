// backscore._backscore.Store and .StoreWriter: io/store.hpp's StoreReader and StoreWriter, with
// numpy arrays in and out. The writer validates exactly as `backscore import` (the same C++), so
// its errors are the same one-line messages.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "host/cli/output_paths.hpp"
#include "io/store.hpp"
#include "python/bindings.hpp"

namespace backscore::python {
namespace {

namespace fs = std::filesystem;

std::string shape_text(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    s += (k ? ", " : "") + std::to_string(shape[k]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

// `array` (any numeric dtype, cast to T) as a flat vector, after checking it has `shape`.
template <typename T>
std::vector<T> flat(const py::object& array, const std::vector<py::ssize_t>& shape,
                    const std::string& era, const char* field) {
  auto a = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(array);
  if (!a) {
    throw InputError("era '" + era + "': " + field + ": not a numeric array");
  }
  std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim());
  if (got != shape) {
    throw InputError("era '" + era + "': " + field + ": shape " + shape_text(got) +
                     ", expected " + shape_text(shape));
  }
  return std::vector<T>(a.data(), a.data() + a.size());
}

class PyStore {
 public:
  explicit PyStore(const std::string& path) : reader_(path) {}
  StoreReader& reader() { return reader_; }

  std::size_t era_index(const py::object& key) {
    const auto& eras = reader_.eras();
    if (py::isinstance<py::str>(key)) {
      const std::string name = key.cast<std::string>();
      auto it = std::find(eras.begin(), eras.end(), name);
      if (it == eras.end()) {
        throw InputError(reader_.path().string() + ": no era '" + name + "'");
      }
      return static_cast<std::size_t>(it - eras.begin());
    }
    const long long i = key.cast<long long>();
    const auto n = static_cast<long long>(eras.size());
    if (i < -n || i >= n) {
      throw py::index_error("era index " + std::to_string(i) + " out of range: the store has " +
                            std::to_string(n) + " eras");
    }
    return static_cast<std::size_t>(i < 0 ? i + n : i);
  }

  py::dict era(const py::object& key) {
    const std::size_t e = era_index(key);
    Era era = reader_.read_era(e);
    const StoreSchema& s = reader_.schema();
    const auto n = static_cast<py::ssize_t>(era.n_stocks());
    const auto rows = [](std::size_t k) { return static_cast<py::ssize_t>(k); };
    py::dict d;
    d["index"] = e;
    d["name"] = era.name;
    d["ids"] = to_list(era.ids);
    d["targets"] = to_numpy(std::move(era.targets), {rows(s.targets.size()), n});
    d["meta_model"] = s.has_meta_model ? py::object(to_numpy(std::move(era.meta_model), {n}))
                                       : py::object(py::none());
    d["benchmarks"] = to_numpy(std::move(era.benchmarks), {rows(s.benchmarks.size()), n});
    d["features"] = to_numpy(std::move(era.features), {rows(s.features.size()), n});
    d["neutralizers"] = to_numpy(std::move(era.neutralizers), {rows(s.neutralizers.size()), n});
    d["sample_weights"] = s.has_sample_weights
                              ? py::object(to_numpy(std::move(era.sample_weights), {n}))
                              : py::object(py::none());
    const auto m = rows(era.models.size());
    d["models"] = to_numpy(std::move(era.models), {m});
    d["stakes"] = s.has_stakes ? py::object(to_numpy(std::move(era.stakes), {m}))
                               : py::object(py::none());
    return d;
  }

  // Rows [first, first + count) of the era's prediction matrix, read straight into the array.
  py::array_t<float> predictions(const py::object& key, std::size_t first,
                                 std::optional<std::size_t> count) {
    const std::size_t e = era_index(key);
    const std::size_t m = reader_.n_submitted(e), n = reader_.n_stocks(e);
    if (first > m) throw py::index_error("first row past the era's " + std::to_string(m));
    const std::size_t c = count ? std::min(*count, m - first) : m - first;
    py::array_t<float> out({static_cast<py::ssize_t>(c), static_cast<py::ssize_t>(n)});
    if (c > 0 && n > 0) {
      reader_.read_predictions(e, first, c, std::span<float>(out.mutable_data(), c * n));
    }
    return out;
  }

 private:
  StoreReader reader_;
};

class PyStoreWriter {
 public:
  PyStoreWriter(const std::string& path, StoreSchema schema) {
    cli::refuse_aliased_outputs({}, {{"the store", path}});
    cli::check_output_file({"the store", path});
    writer_ = std::make_unique<StoreWriter>(path, std::move(schema));
  }

  void append_era(const std::string& name, const std::vector<std::string>& ids,
                  const py::object& targets, const py::object& meta_model,
                  const py::object& benchmarks, const py::object& features,
                  const py::object& neutralizers, const py::object& sample_weights,
                  const py::object& models, const py::object& stakes,
                  const py::object& predictions) {
    const StoreSchema& s = live().schema();
    Era era;
    era.name = name;
    era.ids = ids;
    const auto n = static_cast<py::ssize_t>(ids.size());
    const auto rows = [](std::size_t k) { return static_cast<py::ssize_t>(k); };
    era.targets = flat<double>(targets, {rows(s.targets.size()), n}, name, "targets");
    if (!meta_model.is_none()) era.meta_model = flat<double>(meta_model, {n}, name, "meta_model");
    if (!benchmarks.is_none()) {
      era.benchmarks = flat<double>(benchmarks, {rows(s.benchmarks.size()), n}, name, "benchmarks");
    }
    if (!features.is_none()) {
      era.features = flat<double>(features, {rows(s.features.size()), n}, name, "features");
    }
    if (!neutralizers.is_none()) {
      era.neutralizers =
          flat<double>(neutralizers, {rows(s.neutralizers.size()), n}, name, "neutralizers");
    }
    if (!sample_weights.is_none()) {
      era.sample_weights = flat<double>(sample_weights, {n}, name, "sample_weights");
    }
    auto model_array = py::array_t<std::int32_t, py::array::forcecast>::ensure(models);
    if (!model_array || model_array.ndim() != 1) {
      throw InputError("era '" + name + "': models: expected a 1-D array of model indices");
    }
    era.models = flat<std::int32_t>(models, {model_array.shape(0)}, name, "models");
    const auto m = rows(era.models.size());
    if (!stakes.is_none()) era.stakes = flat<double>(stakes, {m}, name, "stakes");
    const std::vector<float> pred = flat<float>(predictions, {m, n}, name, "predictions");
    live().append_era(era, pred);
  }

  void finish() {
    live().finish();
    writer_.reset();
  }
  // Drops the store written so far (its temporary file): no store appears.
  void abort() { writer_.reset(); }

 private:
  StoreWriter& live() {
    if (!writer_) throw InputError("the store writer is closed (finished or aborted)");
    return *writer_;
  }
  std::unique_ptr<StoreWriter> writer_;
};

}  // namespace

void bind_store(py::module_& m) {
  py::class_<PyStore>(m, "Store", "A store opened for reading (io/store.hpp's StoreReader).")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("path",
                             [](PyStore& s) { return s.reader().path().string(); })
      .def_property_readonly("version", [](PyStore& s) { return s.reader().version(); })
      .def_property_readonly("eras", [](PyStore& s) { return to_list(s.reader().eras()); })
      .def_property_readonly("schema",
                             [](PyStore& s) {
                               const StoreSchema& sc = s.reader().schema();
                               py::dict d;
                               d["models"] = to_list(sc.models);
                               d["targets"] = to_list(sc.targets);
                               d["benchmarks"] = to_list(sc.benchmarks);
                               d["features"] = to_list(sc.features);
                               d["neutralizers"] = to_list(sc.neutralizers);
                               d["has_meta_model"] = sc.has_meta_model;
                               d["has_stakes"] = sc.has_stakes;
                               d["has_sample_weights"] = sc.has_sample_weights;
                               return d;
                             })
      .def("era", &PyStore::era, py::arg("era"))
      .def("n_stocks", [](PyStore& s, const py::object& e) {
        return s.reader().n_stocks(s.era_index(e));
      })
      .def("n_submitted", [](PyStore& s, const py::object& e) {
        return s.reader().n_submitted(s.era_index(e));
      })
      .def("predictions", &PyStore::predictions, py::arg("era"), py::arg("first") = 0,
           py::arg("count") = py::none());

  py::class_<PyStoreWriter>(m, "StoreWriter",
                            "Writes a store era by era (io/store.hpp's StoreWriter).")
      .def(py::init([](const std::string& path, std::vector<std::string> models,
                       std::vector<std::string> targets, std::vector<std::string> benchmarks,
                       std::vector<std::string> features, std::vector<std::string> neutralizers,
                       bool has_meta_model, bool has_stakes, bool has_sample_weights) {
             StoreSchema s;
             s.models = std::move(models);
             s.targets = std::move(targets);
             s.benchmarks = std::move(benchmarks);
             s.features = std::move(features);
             s.neutralizers = std::move(neutralizers);
             s.has_meta_model = has_meta_model;
             s.has_stakes = has_stakes;
             s.has_sample_weights = has_sample_weights;
             return std::make_unique<PyStoreWriter>(path, std::move(s));
           }),
           py::arg("path"), py::arg("models"), py::arg("targets"), py::arg("benchmarks"),
           py::arg("features"), py::arg("neutralizers"), py::arg("has_meta_model"),
           py::arg("has_stakes"), py::arg("has_sample_weights"))
      .def("append_era", &PyStoreWriter::append_era, py::arg("name"), py::arg("ids"),
           py::arg("targets"), py::arg("meta_model"), py::arg("benchmarks"), py::arg("features"),
           py::arg("neutralizers"), py::arg("sample_weights"), py::arg("models"),
           py::arg("stakes"), py::arg("predictions"))
      .def("finish", &PyStoreWriter::finish)
      .def("abort", &PyStoreWriter::abort);

  m.def(
      "check_outputs",
      [](const std::vector<std::pair<std::string, std::string>>& inputs,
         const std::vector<std::pair<std::string, std::string>>& outputs) {
        std::vector<cli::NamedPath> in, out;
        for (const auto& [what, path] : inputs) in.push_back({what, path});
        for (const auto& [what, path] : outputs) out.push_back({what, path});
        cli::refuse_aliased_outputs(in, out);
        for (const cli::NamedPath& o : out) cli::check_output_file(o);
      },
      "The CLI's checks of output paths (host/cli/output_paths.hpp): [(what, path)] pairs.",
      py::arg("inputs"), py::arg("outputs"));
}

}  // namespace backscore::python
