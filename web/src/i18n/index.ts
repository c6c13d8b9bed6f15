// Chinese (default) and English. Switching changes every text at once, without a reload; the
// choice is kept in localStorage. `scripts/check-i18n.mjs` (run by `npm run lint`) fails when a
// key used in the code is missing in either language or the two languages differ.

import { createI18n } from 'vue-i18n'
import { computed } from 'vue'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import elEn from 'element-plus/es/locale/lang/en'
import zh from './zh-CN'
import en from './en'

export type Locale = 'zh-CN' | 'en'
export const LOCALES: Locale[] = ['zh-CN', 'en']

function initial(): Locale {
  const saved = localStorage.getItem('gk-locale')
  if (saved === 'en' || saved === 'zh-CN') return saved
  return 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initial(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
  missingWarn: import.meta.env.DEV,
  fallbackWarn: false,
})

export function setLocale(l: Locale) {
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
