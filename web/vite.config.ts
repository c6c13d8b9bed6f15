import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The app is served by `gridkeeper serve` from the embedded `dist/` (crates/server/src/web.rs).
// `npm run dev` proxies the API to a server on GK_API (default http://127.0.0.1:8080).
const api = process.env.GK_API ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components and their CSS are imported where they are used, so the
    // resident's first page carries only what it shows.
    Components({
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dts: 'src/components.d.ts',
    }),
  ],
  define: {
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  server: {
    proxy: { '/api': api, '/healthz': api, '/readyz': api },
  },
  build: {
    target: 'es2020',
    // Fonts or scripts inlined as data: URLs would break the server's CSP (default-src 'self').
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1100,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        // Fewer, larger shared chunks for the first page: Vue with its router and i18n, and the
        // internals every Element Plus component shares. Components, views, the map (Leaflet)
        // and the charts (ECharts) stay in chunks of their own, loaded when used.
        codeSplitting: {
          groups: [
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/, priority: 30 },
            {
              name: 'ui-base',
              test: /node_modules[\\/](lodash-es|lodash-unified|@vueuse|@floating-ui|@ctrl|@popperjs|memoize-one|normalize-wheel-es|element-plus[\\/]es[\\/](utils|hooks|constants|directives|locale|make-installer))/,
              priority: 20,
            },
          ],
        },
      },
    },
  },
})
