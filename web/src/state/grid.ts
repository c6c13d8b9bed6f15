// The grid a resident lives in: the feed, consultations and proposals they see, and the grid their
// votes and comments count in. Chosen once (by the phone's position or from the list) and kept on
// the device; nothing about it is sent until they read or take part.

import { reactive } from 'vue'
import { api } from '../api/client'

const KEY = 'gk.grid'

export const myGrid = reactive({ code: localStorage.getItem(KEY) ?? '' })

export function setMyGrid(code: string) {
  myGrid.code = code
  if (code) localStorage.setItem(KEY, code)
  else localStorage.removeItem(KEY)
}

/** The grid at the phone's position; rejects with a reason a person can read. */
export function locateMyGrid(): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) return reject(new Error('no-geolocation'))
    navigator.geolocation.getCurrentPosition(
      async (pos) => {
        try {
          const at = await api.locate(pos.coords.latitude, pos.coords.longitude)
          if (!at.grid) return reject(new Error('outside'))
          setMyGrid(at.grid.code)
          resolve(at.grid.code)
        } catch (e) {
          reject(e)
        }
      },
      (e) => reject(e),
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 },
    )
  })
}
