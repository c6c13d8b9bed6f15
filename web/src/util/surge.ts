// How a surge (GET /triage/surges) is told, and where its reports are: the same on the console
// and the dashboard.
import type { Surge } from '../api/types'
import { i18n } from '../i18n'
import { categoryName, regionName } from '../state/reference'

/** "Grid X: N reports of C today, usually E". */
export function surgeText(s: Surge): string {
  const t = i18n.global.t
  return t('surge.text', {
    grid: regionName(s.grid),
    category: s.category ? categoryName(s.category) : t('surge.all'),
    n: s.count,
    usual: s.expected.toFixed(1),
  })
}

/** The grid's reports of the day in the case list (new reports carry only the reporter's
 * category, so the list is not narrowed to the class). */
export function surgeReports(s: Surge) {
  return { path: '/leader', query: { tab: 'cases', region: s.grid, from: s.from, to: s.to } }
}
