// One device batch, stage by stage (see batch_pipeline.hpp). Per batch of m full columns:
//   sort every column (stable, float keys)         -> order
//   ranks: tie-broken percentiles (first), gaussianized tie-kept ranks (gauss) and their ^1.5
//          (powered), by lookup in the era's tables of ndtri(percentile) built on the host with
//          the CPU's own ndtri, so they are bit-identical to the CPU's
//   corr_v1          pair stats (target, first)
//   simulate         meta-model sums += gauss weights (GEMM); pair stats (meta, gauss): xcorr
//   mmc2 (+/-1)      C = Q2^T first (cuBLAS), R = first -/+ Q2 C, pair stats (target, R)
//   mmc2_burnflip    mmc2 (+1), or in a burn era mmc2 (-1), corr_v1 and pair stats (meta, first)
//   corr             pair stats (powered, gauss) for the power check, (corr target, powered)
//   mmc / bmc        [mmc target, meta gauss, bench gauss]^T gauss (one GEMM), scalar algebra on
//                    the host; top/bottom: p_perp per column, stable sort, sums over the ends
//   fnc              beta = Rf^-1 Qf^T gauss (GEMM + TRSM), residual row by row in the CPU's order
//                    (ties kept), / std, sort (double keys), re-rank, power check, pair stats
// Every per-column number lands in the batch's results (kernels/result_layout.hpp), copied back
// once; score_assembly.cpp then turns them into the formulas' scores.
#include "host/run/cuda/batch_pipeline.hpp"

#include <cstdint>

#include "kernels/cuda_check.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda {

void enqueue_batch(Lane& lane, const EraDeviceData& era, const BatchPlan& plan,
                   std::size_t models) {
  const std::size_t n = plan.n(), mb = models, nm = n * mb;
  const LaneBuffers& b = lane.buffers;
  const BatchStages& stage = plan.stages;
  const ResultSlotMap& slot = plan.slots;
  cudaStream_t st = lane.stream.get();
  cublasHandle_t h = lane.blas.get();
  const double one = 1.0, zero = 0.0;
  const int in = static_cast<int>(n), imb = static_cast<int>(mb);
  const ResultSlots res{b.results, slot.stride};
  const detail::RankTables tables{era.gauss_table, era.pow_table};
  const SortScratch<std::uint32_t> float_sort = b.float_sort();
  const SortScratch<std::uint64_t> double_sort = b.double_sort();
  // An n x mb block of the batch, and an era vector repeated for each of its columns.
  auto batch = [&](const double* p) { return ColumnBlock<const double>::dense(p, n, mb); };
  auto batch_out = [&](double* p) { return ColumnBlock<double>::dense(p, n, mb); };
  auto era_vector = [&](const double* p) { return ColumnBlock<const double>::broadcast(p, n, mb); };
  const RowSelection all = RowSelection::all();

  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(b.results, 0, slot.stride * mb * sizeof(double), st));
  detail::sort_columns<float>(ColumnBlock<const float>::dense(b.pred, n, mb), plan.sort.block_float,
                              float_sort, res, st);
  detail::ranks_from_sorted<std::uint32_t>({float_sort.keys_out, float_sort.order, n, mb}, tables,
                                           {b.first, b.gauss, b.powered}, res, layout::kConstSlot,
                                           st);

  if (stage.corr_v1) {
    detail::pair_stats(era_vector(era.target), batch(b.first), all, res, slot.corr_v1, st);
  }
  if (stage.meta_sums > 0) {
    // sums (n x k) += gauss (n x mb) weights (mb x k): the lane's partial meta-model sums
    BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in,
                                       static_cast<int>(stage.meta_sums), imb, &one, b.gauss, in,
                                       b.weights, imb, &one, b.sums, in));
  }
  if (stage.meta_pearson) {
    detail::pair_stats(era_vector(era.meta), batch(b.gauss), all, res, slot.meta_pearson, st);
  }
  if (stage.xcorr) {
    detail::pair_stats(era_vector(era.meta), batch(b.first), all, res, slot.xcorr, st);
  }
  for (int pass = 0; pass < 2; ++pass) {
    const bool on = pass == 0 ? stage.mmc2_plus : stage.mmc2_minus;
    if (!on) continue;
    const double proportion = pass == 0 ? 1.0 : -1.0;
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(b.work, b.first, nm * sizeof(double), cudaMemcpyDeviceToDevice, st));
    if (stage.mmc2_rank > 0) {
      const int ir = static_cast<int>(stage.mmc2_rank);
      const double alpha = -proportion;
      // C = Q^T u; r = u - proportion * Q C
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ir, imb, in, &one, era.mmc2_q,
                                         in, b.first, in, &zero, b.coefficients, ir));
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, imb, ir, &alpha,
                                         era.mmc2_q, in, b.coefficients, ir, &one, b.work, in));
    }
    detail::pair_stats(era_vector(era.target), batch(b.work), all, res,
                       pass == 0 ? slot.mmc2_plus : slot.mmc2_minus, st);
  }
  if (stage.corr) {
    detail::pair_stats(batch(b.powered), batch(b.gauss), all, res, slot.corr_power, st);
    detail::pair_stats(era_vector(era.corr_target), batch(b.powered), all, res, slot.corr, st);
    for (const TopBottomSlot& tb : slot.corr_tb) {
      detail::pair_stats(era_vector(era.corr_target), batch(b.powered),
                         RowSelection::ends(b.order, tb.k), res, tb.slot, st);
    }
  }
  if (stage.dots) {
    // res[j][dots + 0..2] = [mmc target, meta gauss, bench gauss]^T gauss_j
    BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N,
                                       static_cast<int>(layout::kDotSlots), imb, in, &one,
                                       era.dot_vectors, in, b.gauss, in, &zero,
                                       b.results + slot.dots, static_cast<int>(slot.stride)));
  }
  // Top/bottom contributions: p_perp, its stable order, t . p_perp over the ends.
  for (int which = 0; which < 2; ++which) {
    const bool meta = which == 0;
    const std::vector<TopBottomSlot>& tbs = meta ? slot.mmc_tb : slot.bmc_tb;
    if (tbs.empty()) continue;
    const std::size_t dot = meta ? layout::dots::kMeta : layout::dots::kBench;
    const double* vec = era.dot_vectors + dot * n;
    const double norm2 = meta ? plan.era.meta_norm2 : plan.era.bench_norm2;
    detail::orthogonalize(batch(b.gauss), vec, norm2, res, slot.dots + dot, batch_out(b.work), st);
    detail::sort_columns<double>(batch(b.work), plan.sort.block_double, double_sort, ResultSlots{},
                                 st);
    for (const TopBottomSlot& tb : tbs) {
      detail::pair_stats(era_vector(era.mmc_target), batch(b.work),
                         RowSelection::ends(b.order2, tb.k), res, tb.slot, st);
    }
  }
  if (stage.fnc) {
    const std::size_t rf = stage.fnc_rank;
    if (rf > 0) {
      const int ir = static_cast<int>(rf);
      // beta = R^-1 Q^T g
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ir, imb, in, &one, era.fnc_q,
                                         in, b.gauss, in, &zero, b.coefficients, ir));
      BACKSCORE_CUBLAS_CHECK(cublasDtrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                         CUBLAS_DIAG_NON_UNIT, ir, imb, &one, era.fnc_r, ir,
                                         b.coefficients, ir));
    }
    // residual = g - X beta, X the kept feature columns (n x rf), beta rf x mb.
    detail::residual_rows(batch(b.gauss), ColumnBlock<const double>{era.fnc_x, n, rf, n},
                          ColumnBlock<const double>{b.coefficients, rf, mb, rf}, 1.0,
                          batch_out(b.work), st);
    detail::pair_stats(batch(b.work), batch(b.work), all, res, slot.fnc_resid, st);
    detail::divide_by_std(batch_out(b.work), res, slot.fnc_resid, st);
    detail::sort_columns<double>(batch(b.work), plan.sort.block_double, double_sort, ResultSlots{},
                                 st);
    detail::ranks_from_sorted<std::uint64_t>({double_sort.keys_out, double_sort.order, n, mb},
                                             tables, {nullptr, b.fnc_gauss, b.fnc_powered}, res,
                                             layout::kNoSlot, st);
    detail::pair_stats(batch(b.fnc_powered), batch(b.fnc_gauss), all, res, slot.fnc_power, st);
    detail::pair_stats(era_vector(era.corr_target), batch(b.fnc_powered), all, res, slot.fnc, st);
    for (const TopBottomSlot& tb : slot.fnc_tb) {
      detail::pair_stats(era_vector(era.corr_target), batch(b.fnc_powered),
                         RowSelection::ends(b.order2, tb.k), res, tb.slot, st);
    }
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(lane.host_results.data(), b.results,
                                       slot.stride * mb * sizeof(double), cudaMemcpyDeviceToHost,
                                       st));
  lane.done.record(st);
}

}  // namespace backscore::cuda
