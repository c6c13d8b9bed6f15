// The categories suggested for what is being typed (POST /triage/suggest), asked once the typing
// pauses. Only a hint: a failure, or an untrained platform, leaves none.
import { onBeforeUnmount, ref, watch, type Ref } from 'vue'
import { api } from '../api/client'
import type { SuggestedCategory } from '../api/types'

/** Suggestions below this probability are not offered. */
const AT_LEAST = 0.1

export function useSuggestions(text: () => string): Ref<SuggestedCategory[]> {
  const suggested = ref<SuggestedCategory[]>([])
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(text, (now) => {
    clearTimeout(timer)
    if (now.trim().length < 4) {
      suggested.value = []
      return
    }
    timer = setTimeout(async () => {
      try {
        const r = await api.suggest(now)
        if (text() === now) suggested.value = r.categories.filter((c) => c.probability >= AT_LEAST)
      } catch {
        suggested.value = []
      }
    }, 600)
  })
  onBeforeUnmount(() => clearTimeout(timer))
  return suggested
}
