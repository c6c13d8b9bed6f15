// Tracking codes of reports made on this device: an anonymous reporter finds them again here.

export interface SavedReport {
  code: string
  reference: string
  description: string
  at: string
}

const KEY = 'gk-tracking'

export function savedReports(): SavedReport[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    return Array.isArray(v) ? v : []
  } catch {
    return []
  }
}

export function saveReport(r: SavedReport) {
  const all = savedReports().filter((x) => x.code !== r.code)
  all.unshift(r)
  localStorage.setItem(KEY, JSON.stringify(all.slice(0, 50)))
}

export function forgetReport(code: string) {
  localStorage.setItem(KEY, JSON.stringify(savedReports().filter((x) => x.code !== code)))
}
