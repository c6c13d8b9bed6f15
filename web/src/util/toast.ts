// Toasts (Element Plus ElMessage, imported here once with its style).
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { problemText } from './format'

export function ok(message: string) {
  ElMessage({ type: 'success', message, grouping: true })
}

export function fail(e: unknown) {
  ElMessage({ type: 'error', message: problemText(e), duration: 6000, showClose: true })
}

/** A warning in plain words (not a problem from the server). */
export function warn(message: string) {
  ElMessage({ type: 'warning', message, duration: 6000, showClose: true })
}
