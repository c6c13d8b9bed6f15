// The unread count of the signed-in person's inbox, shown on the bell in the header. Asked when
// someone signs in, every minute while the page is visible, and after reading.

import { reactive, watch } from 'vue'
import { api } from '../api/client'
import { session } from './session'

/** `unread`: notices; `messages`: unread messages people sent through one's contact card. */
export const inbox = reactive({ unread: 0, messages: 0 })

export async function refreshUnread() {
  if (!session.person) {
    inbox.unread = 0
    inbox.messages = 0
    return
  }
  try {
    const [notices, messages] = await Promise.all([api.inbox({ limit: 1 }), api.myMessages()])
    inbox.unread = notices.unread
    inbox.messages = messages.unread
  } catch {
    // offline or signed out: keep the last count
  }
}

let timer: ReturnType<typeof setInterval> | undefined
watch(
  () => session.person?.id,
  (id) => {
    clearInterval(timer)
    inbox.unread = 0
    inbox.messages = 0
    if (id === undefined) return
    refreshUnread()
    timer = setInterval(() => {
      if (document.visibilityState === 'visible') refreshUnread()
    }, 60_000)
  },
  { immediate: true },
)
