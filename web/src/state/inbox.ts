// The unread count of the signed-in person's inbox, shown on the bell in the header. Asked when
// someone signs in, every minute while the page is visible, and after reading.

import { reactive, watch } from 'vue'
import { api } from '../api/client'
import { session } from './session'

export const inbox = reactive({ unread: 0 })

export async function refreshUnread() {
  if (!session.person) {
    inbox.unread = 0
    return
  }
  try {
    inbox.unread = (await api.inbox({ limit: 1 })).unread
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
    if (id === undefined) return
    refreshUnread()
    timer = setInterval(() => {
      if (document.visibilityState === 'visible') refreshUnread()
    }, 60_000)
  },
  { immediate: true },
)
