// Confirmations, toasts that can be undone, and alarms: the staff's views only, kept apart from
// util/toast.ts so that the resident's first page does not load them (Element Plus ElMessageBox
// and ElNotification, imported here once with their style).
import { h } from 'vue'
import { ElMessage, ElMessageBox, ElNotification } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import 'element-plus/es/components/notification/style/css'
import { i18n } from '../i18n'

/**
 * Asks before a step that takes something away (a role, an account's access): says what will
 * happen, and answers whether the person confirmed. Escape, the close button and "cancel" say no.
 */
export async function confirmStep(title: string, message: string, confirmText: string): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, {
      type: 'warning',
      confirmButtonText: confirmText,
      cancelButtonText: i18n.global.t('common.cancel'),
      confirmButtonClass: 'el-button--danger',
      customClass: 'gk-confirm',
      autofocus: false,
    })
    return true
  } catch {
    return false
  }
}

/** A success toast with an "undo" button that runs `undo` (for a step that can be taken back). */
export function okWithUndo(message: string, undo: () => void) {
  const handle = ElMessage({
    type: 'success',
    duration: 8000,
    showClose: true,
    customClass: 'gk-undo',
    message: h('span', { class: 'gk-undo-body' }, [
      message,
      h(
        'button',
        {
          type: 'button',
          class: 'gk-undo-button',
          'data-testid': 'undo',
          onClick: () => {
            handle.close()
            undo()
          },
        },
        i18n.global.t('common.undo'),
      ),
    ]),
  })
}

/** An alarm that stays until it is clicked or closed (an emergency arriving): a click runs `open`. */
export function alarm(title: string, message: string, open: () => void) {
  const handle = ElNotification({
    type: 'error',
    title,
    message,
    duration: 0,
    customClass: 'gk-alarm',
    offset: 56,
    onClick: () => {
      handle.close()
      open()
    },
  })
}
