// Small helpers shared by the benchmarks: medians, a printed table, and a JSON result file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

export function machine(): Record<string, unknown> {
  return { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) };
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  const cols = Object.keys(rows[0] ?? {});
  const width = (c: string) => Math.max(c.length, ...rows.map((r) => String(r[c]).length));
  console.log(`\n${title}`);
  console.log(cols.map((c) => c.padEnd(width(c))).join('  '));
  for (const r of rows) console.log(cols.map((c) => String(r[c]).padEnd(width(c))).join('  '));
}

/** Writes `<dir>/<name>.json` (default dir: bench/results) with the time and the machine. */
export function writeResult(name: string, data: unknown, outDir?: string): string {
  const dir = outDir ?? new URL('../results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2) + '\n');
  return path;
}

/** Peak and current resident memory of a process, from /proc (Linux). */
/**
 * Resident memory of a process, MB: `anonMb` is its heap and other private memory, `fileMb`
 * the file pages it maps and touched (for serve: the LMDB store's pages it read or wrote).
 */
export function rssOf(pid: number): { rssMb: number; peakMb: number; anonMb: number; fileMb: number } {
  const { readFileSync } = require_fs();
  const text = readFileSync(`/proc/${pid}/status`, 'utf8') as string;
  const kb = (field: string) => Number(/\d+/.exec(text.split('\n').find((l) => l.startsWith(field)) ?? '0')?.[0] ?? 0);
  const mb = (k: number): number => Math.round(k / 1024);
  return { rssMb: mb(kb('VmRSS:')), peakMb: mb(kb('VmHWM:')), anonMb: mb(kb('RssAnon:')), fileMb: mb(kb('RssFile:')) };
}

/**
 * CPU seconds (user + system, all threads) a process has used so far: on a shared machine a
 * steadier figure than wall time for comparing two versions.
 */
export function cpuSecondsOf(pid: number): number {
  const stat = require_fs().readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

import * as fs from 'node:fs';
function require_fs(): typeof fs {
  return fs;
}
