import type uPlot from 'uplot';

/**
 * Shades the steps before `startStep` and draws a dashed line at it: the
 * server does not hold the run before that step (it restarted meanwhile).
 */
export function drawMissingHistory(u: uPlot, startStep: number): void {
  const left = u.bbox.left;
  const x = u.valToPos(startStep, 'x', true);
  if (!Number.isFinite(x) || x <= left) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = 'rgba(154, 164, 178, 0.12)';
  ctx.fillRect(left, u.bbox.top, x - left, u.bbox.height);
  ctx.strokeStyle = 'rgba(240, 180, 80, 0.9)';
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(x, u.bbox.top);
  ctx.lineTo(x, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.restore();
}
