// CPU evaluation of a compiled plan (see eval.hpp). Vectors follow pandas: NaN marks a row that
// is not part of the vector (top_bottom keeps 2n rows); reductions use the rows present in all
// their arguments, ranks rank the present rows. An operation that turns present values into NaN
// (a division by zero, gaussian of a value outside (0, 1)) makes the whole vector undefined
// (all NaN), and the formulas that use it NaN for that model-era.
#include "host/lang/eval.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "host/era/stats.hpp"

namespace backscore::lang {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has_nan(std::span<const double> x) {
  return std::any_of(x.begin(), x.end(), [](double v) { return std::isnan(v); });
}

struct Scratch {
  StableSorter sorter;
  std::vector<double> ga, gb, work, columns;
  std::vector<std::uint32_t> idx, ord;
  std::vector<char> kept;
  std::vector<std::uint64_t> keys, select;  // mark_top_bottom buffers
};

// Evaluates nodes of a plan into `out`, reading the era stages from `era` (the same object when
// the era stages themselves are evaluated).
class Runner {
 public:
  Runner(const Plan& plan, const NodeValues& era, NodeValues& out, std::size_t n,
         const GaussianTable& table, Scratch& scratch)
      : plan_(plan), era_(era), out_(out), n_(n), table_(table), s_(scratch) {}

  // Era mode: the era's data restricted to rows (empty = all), over=era stages from `full`.
  void set_era(const Era* era, std::span<const std::uint32_t> rows, const NodeValues* full) {
    data_ = era;
    rows_ = rows;
    full_ = full;
  }
  // Model mode.
  void set_model(std::span<const double> pred, std::span<const double> builtins) {
    pred_ = pred;
    builtins_ = builtins;
  }

  double S(std::uint32_t a) const {
    const Node& n = plan_.nodes[a];
    if (n.op == Op::constant) return n.value;
    return src(a).scalar[a];
  }

  void run(std::uint32_t id) {
    const Node& nd = plan_.nodes[id];
    if (nd.era_wide && full_ != nullptr) {  // computed on the whole era: restrict
      if (nd.kind == Kind::scalar) {
        out_.scalar[id] = full_->scalar[id];
      } else {
        const std::vector<double>& all = full_->vec[id];
        std::vector<double>& o = out_.vec[id];
        o.resize(n_);
        for (std::size_t i = 0; i < n_; ++i) o[i] = all[rows_[i]];
      }
      return;
    }
    switch (nd.kind) {
      case Kind::scalar:
        out_.scalar[id] = scalar(nd);
        return;
      case Kind::order:
        sort(nd, out_.order[id]);
        return;
      case Kind::projector:
        project(nd, id);
        return;
      case Kind::vector:
      case Kind::matrix:
        vector(nd, id);
        return;
    }
  }

 private:
  const NodeValues& src(std::uint32_t a) const { return plan_.nodes[a].per_model ? out_ : era_; }
  std::span<const double> V(std::uint32_t a) const {
    if (plan_.nodes[a].op == Op::pred) return pred_;
    return src(a).vec[a];
  }
  const std::vector<std::uint32_t>& ORD(std::uint32_t a) const { return src(a).order[a]; }

  std::size_t row(std::size_t i) const { return rows_.empty() ? i : rows_[i]; }
  void restrict_to_rows(std::span<const double> all, std::vector<double>& o) const {
    o.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) o[i] = all[row(i)];
  }

  // Present rows of x (not NaN) into s_.idx; returns their count.
  std::size_t present(std::span<const double> x) {
    s_.idx.clear();
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!std::isnan(x[i])) s_.idx.push_back(static_cast<std::uint32_t>(i));
    }
    return s_.idx.size();
  }
  // The rows present in both x and y, gathered into s_.ga / s_.gb; returns the pair of spans.
  std::pair<std::span<const double>, std::span<const double>> pairs(std::span<const double> x,
                                                                    std::span<const double> y) {
    if (!has_nan(x) && !has_nan(y)) return {x, y};
    s_.ga.clear();
    s_.gb.clear();
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!std::isnan(x[i]) && !std::isnan(y[i])) {
        s_.ga.push_back(x[i]);
        s_.gb.push_back(y[i]);
      }
    }
    return {s_.ga, s_.gb};
  }
  std::span<const double> presentv(std::span<const double> x) {
    if (!has_nan(x)) return x;
    s_.ga.clear();
    for (double v : x) {
      if (!std::isnan(v)) s_.ga.push_back(v);
    }
    return s_.ga;
  }

  // ---- scalars ----
  double scalar(const Node& nd) {
    switch (nd.op) {
      case Op::builtin:
        return builtins_[nd.index];
      case Op::pearson: {
        auto [x, y] = pairs(V(nd.args[0]), V(nd.args[1]));
        return pearson(x, y);
      }
      case Op::cov: {
        // Named, not a structured binding: the lambda below captures them (clang with OpenMP
        // cannot capture a structured binding).
        const auto xy = pairs(V(nd.args[0]), V(nd.args[1]));
        const auto& x = xy.first;
        const auto& y = xy.second;
        if (nd.value == 1) return covariance(x, y);
        const double m = static_cast<double>(x.size());
        if (!(m - nd.value > 0)) return kNaN;
        const double mx = mean(x), my = mean(y);
        const double sxy =
            pairwise_sum_of(x.size(), [&](std::size_t i) { return (x[i] - mx) * (y[i] - my); });
        return sxy * (1.0 / (m - nd.value));
      }
      case Op::dot: {
        auto [x, y] = pairs(V(nd.args[0]), V(nd.args[1]));
        return x.empty() ? kNaN : dot(x, y);
      }
      case Op::mean:
        return mean(presentv(V(nd.args[0])));
      case Op::sum: {
        const std::span<const double> x = presentv(V(nd.args[0]));
        return x.empty() ? kNaN : pairwise_sum(x);
      }
      case Op::std: {
        const std::span<const double> x = presentv(V(nd.args[0]));
        if (nd.value == 0) return std_population(x);
        const double m = static_cast<double>(x.size());
        if (!(m - nd.value > 0)) return kNaN;
        const double mu = mean(x);
        const double ss = pairwise_sum_of(x.size(), [&](std::size_t i) {
          const double dlt = x[i] - mu;
          return dlt * dlt;
        });
        return std::sqrt(ss / (m - nd.value));
      }
      case Op::count:
        return static_cast<double>(presentv(V(nd.args[0])).size());
      case Op::min_of:
      case Op::max_of: {
        const std::span<const double> x = presentv(V(nd.args[0]));
        if (x.empty()) return kNaN;
        return nd.op == Op::min_of ? *std::min_element(x.begin(), x.end())
                                   : *std::max_element(x.begin(), x.end());
      }
      default: {
        double a[16];
        const std::size_t k = std::min<std::size_t>(nd.args.size(), 16);
        if (nd.args.size() > 16) {  // min/max of many: fold pairwise
          double r = S(nd.args[0]);
          for (std::uint32_t arg : nd.args) {
            const double two[2] = {r, S(arg)};
            r = apply_scalar(nd.op, two, 2);
          }
          return r;
        }
        for (std::size_t i = 0; i < k; ++i) a[i] = S(nd.args[i]);
        return apply_scalar(nd.op, a, k);
      }
    }
  }

  // ---- sort and projector ----
  void sort(const Node& nd, std::vector<std::uint32_t>& ord) {
    const std::span<const double> x = V(nd.args[0]);
    if (!has_nan(x)) {
      ord.resize(x.size());
      s_.sorter.sort(x, ord);
      return;
    }
    const std::size_t m = present(x);
    s_.ga.resize(m);
    for (std::size_t j = 0; j < m; ++j) s_.ga[j] = x[s_.idx[j]];
    ord.resize(m);
    s_.sorter.sort(std::span<const double>(s_.ga.data(), m), ord);
    for (std::uint32_t& o : ord) o = s_.idx[o];
  }

  void project(const Node& nd, std::uint32_t id) {
    std::vector<double>& cols = s_.columns;
    cols.clear();
    bool ok = true;
    for (std::uint32_t a : nd.args) {
      const std::span<const double> c = V(a);
      ok = ok && !has_nan(c);
      cols.insert(cols.end(), c.begin(), c.end());
    }
    cols.insert(cols.end(), n_, 1.0);  // the intercept
    out_.proj_ok[id] = ok;
    out_.proj[id] =
        ok ? LeastSquaresProjector(cols, n_, cols.size() / std::max<std::size_t>(n_, 1), nd.value)
           : LeastSquaresProjector();
  }

  // ---- vectors ----
  void vector(const Node& nd, std::uint32_t id) {
    std::vector<double>& o = out_.vec[id];
    auto all_nan = [&] { std::fill(o.begin(), o.end(), kNaN); };
    switch (nd.op) {
      case Op::pred:
        return;  // read from pred_ directly
      case Op::target:
        check_data(nd);
        restrict_to_rows(data_->target(nd.index), o);
        return;
      case Op::meta_model:
        check_data(nd);
        restrict_to_rows(data_->meta_model, o);
        return;
      case Op::benchmark:
        check_data(nd);
        restrict_to_rows(data_->benchmark(nd.index), o);
        return;
      case Op::features:
      case Op::neutralizers: {
        check_data(nd);
        const bool features = nd.op == Op::features;
        const std::size_t N = data_->n_stocks();
        const std::size_t k =
            N > 0 ? (features ? data_->features.size() : data_->neutralizers.size()) / N : 0;
        o.resize(k * n_);
        for (std::size_t f = 0; f < k; ++f) {
          const std::span<const double> col =
              features ? data_->feature(f) : data_->neutralizer(f);
          for (std::size_t i = 0; i < n_; ++i) o[f * n_ + i] = col[row(i)];
        }
        return;
      }
      case Op::sample_weight:
        check_data(nd);
        restrict_to_rows(data_->sample_weights, o);
        return;
      default:
        break;
    }
    o.resize(n_);
    switch (nd.op) {
      case Op::rank_first: {
        const std::vector<std::uint32_t>& ord = ORD(nd.args[0]);
        if (ord.size() < n_) all_nan();
        tie_broken_percentiles(ord, o);
        return;
      }
      case Op::rank_average: {
        const std::vector<std::uint32_t>& ord = ORD(nd.args[1]);
        if (ord.size() < n_) all_nan();
        tie_kept_percentiles(V(nd.args[0]), ord, o);
        return;
      }
      case Op::gaussian: {
        const Node& r = plan_.nodes[nd.args[0]];
        if (r.op == Op::rank_average) {  // ndtri of the tie-kept ranks, by table lookups
          const std::vector<std::uint32_t>& ord = ORD(r.args[1]);
          std::span<double> pow15;
          if (nd.fused_pow15 >= 0) {
            std::vector<double>& p = out_.vec[static_cast<std::size_t>(nd.fused_pow15)];
            p.resize(n_);
            if (ord.size() < n_) std::fill(p.begin(), p.end(), kNaN);
            pow15 = p;
          }
          if (ord.size() < n_) all_nan();
          tie_kept_gaussian(V(r.args[0]), ord, &table_, o, pow15);
          return;
        }
        const std::span<const double> x = V(nd.args[0]);
        bool undefined = false;
        for (std::size_t i = 0; i < n_; ++i) {
          o[i] = ndtri(x[i]);
          undefined = undefined || (std::isnan(o[i]) && !std::isnan(x[i]));
        }
        if (undefined) all_nan();
        return;
      }
      case Op::power: {
        const std::span<const double> x = V(nd.args[0]);
        const Node& g = plan_.nodes[nd.args[0]];
        const bool fused = g.op == Op::gaussian && g.fused_pow15 == static_cast<std::int64_t>(id);
        if (!fused) {
          const double p = S(nd.args[1]);
          bool undefined = std::isnan(p);
          for (std::size_t i = 0; i < n_; ++i) {
            o[i] = signed_pow(x[i], p);
            undefined = undefined || (std::isnan(o[i]) && !std::isnan(x[i]));
          }
          if (undefined) return all_nan();
        }
        // numerai-tools' power() asserts std == 0 or corr(x^p, x) >= 0.9; NaN when it fails.
        auto [px, xx] = pairs(o, x);
        if (!(zero_std(px) || pearson(px, xx) >= 0.9)) all_nan();
        return;
      }
      case Op::center: {
        const std::span<const double> x = V(nd.args[0]);
        const double mu = mean(presentv(x));
        for (std::size_t i = 0; i < n_; ++i) o[i] = x[i] - mu;
        return;
      }
      case Op::neutralize: {
        const std::span<const double> x = V(nd.args[0]);
        const std::uint32_t pj = nd.args[1];
        const double proportion = S(nd.args[2]);
        const NodeValues& pv = src(pj);
        // numerai-tools' neutralize: no NaN allowed; a zero-std column comes out all NaN.
        if (!pv.proj_ok[pj] || std::isnan(proportion) || has_nan(x) || zero_std(x)) {
          return all_nan();
        }
        const LeastSquaresProjector& proj = pv.proj[pj];
        s_.work.resize(proj.rank());
        proj.residual(x.data(), proportion, o.data(), s_.work.data());
        return;
      }
      case Op::orthogonalize: {
        const std::span<const double> x = V(nd.args[0]), y = V(nd.args[1]);
        const double yy = S(nd.args[2]);
        if (has_nan(x) || has_nan(y) || !(yy != 0) || !std::isfinite(yy)) return all_nan();
        const double coef = dot(x, y) / yy;
        for (std::size_t i = 0; i < n_; ++i) o[i] = x[i] - y[i] * coef;
        if (has_nan(o)) all_nan();
        return;
      }
      case Op::span_product: {
        // M (M^T x), column by column: c_k = M_k . x, then o = sum_k M_k c_k (numerai-tools'
        // neutralizers @ (neutralizers.T @ v)).
        const std::span<const double> x = V(nd.args[0]), m = V(nd.args[1]);
        if (has_nan(x)) return all_nan();
        const std::size_t k = n_ > 0 ? m.size() / n_ : 0;
        std::fill(o.begin(), o.end(), 0.0);
        for (std::size_t f = 0; f < k; ++f) {
          const std::span<const double> col = m.subspan(f * n_, n_);
          const double c = dot(col, x);
          for (std::size_t i = 0; i < n_; ++i) o[i] += col[i] * c;
        }
        return;
      }
      case Op::top_bottom: {
        const std::span<const double> x = V(nd.args[0]);
        const std::size_t k = static_cast<std::size_t>(nd.value);
        const std::size_t m = present(x);
        all_nan();
        if (2 * k > m) return;  // outside numerai-tools' assumption 2n <= rows: undefined
        s_.ga.resize(m);
        for (std::size_t j = 0; j < m; ++j) s_.ga[j] = x[s_.idx[j]];
        s_.kept.resize(m);
        mark_top_bottom(std::span<const double>(s_.ga.data(), m), k, s_.kept, s_.keys, s_.select);
        for (std::size_t j = 0; j < m; ++j) {
          if (s_.kept[j]) o[s_.idx[j]] = s_.ga[j];
        }
        return;
      }
      default:
        elementwise(nd, o);
        return;
    }
  }

  // + - * / neg abs sign clip on vectors (scalar operands broadcast). A result NaN from present
  // operands (x / 0) makes the whole vector undefined.
  void elementwise(const Node& nd, std::vector<double>& o) {
    const std::size_t k = nd.args.size();
    std::span<const double> vec[3];
    double val[3] = {0, 0, 0};
    for (std::size_t j = 0; j < k; ++j) {
      if (plan_.nodes[nd.args[j]].kind == Kind::vector) {
        vec[j] = V(nd.args[j]);
      } else {
        val[j] = S(nd.args[j]);
      }
    }
    bool undefined = false;
    double a[3];
    for (std::size_t i = 0; i < n_; ++i) {
      bool missing = false;
      for (std::size_t j = 0; j < k; ++j) {
        a[j] = vec[j].empty() ? val[j] : vec[j][i];
        missing = missing || std::isnan(a[j]);
      }
      o[i] = apply_scalar(nd.op, a, k);
      undefined = undefined || (!missing && std::isnan(o[i]));
    }
    if (undefined) std::fill(o.begin(), o.end(), kNaN);
  }

  void check_data(const Node& nd) const {
    if (data_ == nullptr) throw std::logic_error("plan: a leaf evaluated outside the era stages");
    if (!nd.bound) {
      throw std::invalid_argument("plan: '" + nd.name + "' is not bound to a store");
    }
    const std::size_t N = data_->n_stocks();
    bool ok = true;
    if (nd.op == Op::target) ok = (nd.index + 1) * N <= data_->targets.size();
    if (nd.op == Op::meta_model) ok = data_->meta_model.size() == N;
    if (nd.op == Op::benchmark) ok = (nd.index + 1) * N <= data_->benchmarks.size();
    if (nd.op == Op::sample_weight) ok = data_->sample_weights.size() == N;
    if (nd.op == Op::neutralizers) ok = N == 0 || !data_->neutralizers.empty();
    if (!ok) {
      throw std::invalid_argument("plan: era " + data_->name + " has no " + nd.name);
    }
  }

  const Plan& plan_;
  const NodeValues& era_;
  NodeValues& out_;
  std::size_t n_;
  const GaussianTable& table_;
  Scratch& s_;
  const Era* data_ = nullptr;
  std::span<const std::uint32_t> rows_;
  const NodeValues* full_ = nullptr;
  std::span<const double> pred_;
  std::span<const double> builtins_;
};

bool uses_gaussian_table(const Plan& plan) {
  for (const Node& n : plan.nodes) {
    if (n.op == Op::gaussian && plan.nodes[n.args[0]].op == Op::rank_average) return true;
  }
  return false;
}

}  // namespace

void NodeValues::resize(std::size_t nodes) {
  vec.resize(nodes);
  scalar.resize(nodes, kNaN);
  order.resize(nodes);
  proj.resize(nodes);
  proj_ok.resize(nodes, 0);
}

EraStages::EraStages(const Plan& plan, const Era& era, std::span<const std::uint32_t> rows,
                     const EraStages* full) {
  const std::size_t N = era.n_stocks();
  n_ = rows.empty() ? N : rows.size();
  for (std::uint32_t r : rows) {
    if (r >= N) throw std::invalid_argument("EraStages: row index out of range");
  }
  bool wide = false;
  for (std::uint32_t id : plan.era_schedule) wide = wide || plan.nodes[id].era_wide;
  if (!rows.empty() && wide && (full == nullptr || full->size() != N)) {
    throw std::invalid_argument("EraStages: over=era stages need the era's full stages");
  }
  values_.resize(plan.nodes.size());
  if (uses_gaussian_table(plan)) table_ = GaussianTable::of(n_);
  thread_local Scratch scratch;
  Runner runner(plan, values_, values_, n_, table_, scratch);
  runner.set_era(&era, rows, rows.empty() ? nullptr : &full->values_);
  for (std::uint32_t id : plan.era_schedule) runner.run(id);
}

ModelEvaluator::ModelEvaluator(const Plan& plan) : plan_(plan) {
  values_.resize(plan.nodes.size());
}

void ModelEvaluator::evaluate(const EraStages& stages, std::span<const double> pred,
                              std::span<const double> builtin_scores, std::span<double> out) {
  if (pred.size() != stages.size() || out.size() < plan_.formulas.size() ||
      builtin_scores.size() < plan_.builtins.size()) {
    throw std::invalid_argument("ModelEvaluator: pred, builtin_scores or out has the wrong size");
  }
  thread_local Scratch scratch;
  Runner runner(plan_, stages.values(), values_, stages.size(), stages.gaussian_table(), scratch);
  runner.set_model(pred, builtin_scores);
  for (std::uint32_t id : plan_.model_schedule) runner.run(id);
  for (std::size_t f = 0; f < plan_.formulas.size(); ++f) out[f] = runner.S(plan_.formulas[f].root);
}

}  // namespace backscore::lang
