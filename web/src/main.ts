import { createApp } from 'vue'
import 'element-plus/theme-chalk/base.css'
import './style.css'
import App from './App.vue'
import { router } from './router'
import { i18n, initial, setLocale } from './i18n'

// English, when chosen before, is fetched before the first paint (Chinese needs nothing).
setLocale(initial())
  .catch((e) => console.warn('language', e))
  .finally(() => createApp(App).use(i18n).use(router).mount('#app'))
