// Chinese (default) and English. Switching changes every text at once, without a reload; the
// choice is kept in localStorage. Chinese ships with the first page; English is fetched the first
// time it is chosen (it stays out of the resident's first page, whose weight is budgeted).
// `scripts/check-i18n.mjs` (run by `npm run lint`) fails when a key used in the code is missing in
// either language or the two languages differ.

import { createI18n } from 'vue-i18n'
import { computed } from 'vue'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import elEn from 'element-plus/es/locale/lang/en'
import zh from './zh-CN'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']

export function initial(): Locale {
  const saved = localStorage.getItem('gk-locale')
  if (saved === 'en' || saved === 'zh-CN') return saved
  return 'zh-CN'
}

type Messages = typeof zh

export const i18n = createI18n<[Messages], Locale, false>({
  legacy: false,
  locale: 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh } as Record<Locale, Messages>,
  missingWarn: import.meta.env.DEV,
  fallbackWarn: false,
})

const loaded = new Set<Locale>(['zh-CN'])

/** Switches the language, fetching its texts the first time. */
export async function setLocale(l: Locale) {
  if (!loaded.has(l)) {
    const messages = (await import('./en')).default
    i18n.global.setLocaleMessage(l, messages)
    loaded.add(l)
  }
  i18n.global.locale.value = l
  localStorage.setItem('gk-locale', l)
  document.documentElement.lang = l
}

export const elementLocale = computed(() => (i18n.global.locale.value === 'en' ? elEn : zhCn))

/** A name in the current language: `name_en` in English when there is one. */
export function localName(x: { name: string; name_en?: string | null } | null | undefined): string {
  if (!x) return ''
  return i18n.global.locale.value === 'en' && x.name_en ? x.name_en : x.name
}
