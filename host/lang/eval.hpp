// The CPU evaluator of a compiled plan (host/lang/plan.hpp). EraStages holds the values of the
// plan's era stages for one era, on all its ids or on the ids one model submitted (the language
// follows the engine: a model with missing ids sees every era vector restricted to its ids, and
// over=era stages computed on the whole era then restricted). ModelEvaluator runs the model
// stages and the scalars for one model on it; keep one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "host/era/least_squares.hpp"
#include "host/era/rank.hpp"
#include "host/lang/plan.hpp"
#include "io/store.hpp"

namespace backscore::lang {

// Values of nodes, indexed by node; only the entries of the nodes evaluated are filled.
struct NodeValues {
  std::vector<std::vector<double>> vec;           // vector (n) and matrix (k x n) nodes
  std::vector<double> scalar;                     // scalar nodes
  std::vector<std::vector<std::uint32_t>> order;  // sort nodes: present rows in stable order
  std::vector<LeastSquaresProjector> proj;        // project nodes
  std::vector<char> proj_ok;                      // the exposures were finite
  void resize(std::size_t nodes);
};

class EraStages {
 public:
  // rows: ascending row indices of the era (empty = all). `full`: the stages of the same era on
  // all its ids, required when rows is not empty and the plan has over=era stages. Throws
  // std::invalid_argument if the plan is not bound to a store (explain without one) or asks for
  // data the era lacks.
  EraStages(const Plan& plan, const Era& era, std::span<const std::uint32_t> rows,
            const EraStages* full = nullptr);

  std::size_t size() const { return n_; }
  const NodeValues& values() const { return values_; }
  const GaussianTable& gaussian_table() const { return table_; }

 private:
  std::size_t n_ = 0;
  NodeValues values_;
  GaussianTable table_;
};

class ModelEvaluator {
 public:
  explicit ModelEvaluator(const Plan& plan);
  // Scores one model: pred holds stages.size() finite values (the model's ids, in row order);
  // builtin_scores[i] is the model-era's score of plan.builtins[i]; out[f] receives the score of
  // plan.formulas[f] (NaN where undefined: a division by zero, a reduction over too few values,
  // a failed power check...).
  void evaluate(const EraStages& stages, std::span<const double> pred,
                std::span<const double> builtin_scores, std::span<double> out);

 private:
  const Plan& plan_;
  NodeValues values_;
};

}  // namespace backscore::lang
