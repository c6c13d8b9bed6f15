// Reference data (categories, departments, regions), read once and shared by every view.

import { reactive } from 'vue'
import { api } from '../api/client'
import type { Category, Department, Region } from '../api/types'
import { localName } from '../i18n'

export const reference = reactive({
  categories: [] as Category[],
  departments: [] as Department[],
  regions: [] as Region[],
  loaded: false,
})

let loading: Promise<void> | undefined

export function loadReference(): Promise<void> {
  loading ??= Promise.all([api.categories(), api.departments(), api.regions()]).then(([c, d, r]) => {
    reference.categories = c.items
    reference.departments = d.items
    reference.regions = r.items
    reference.loaded = true
  })
  return loading
}

/** Reads categories and departments again (after the administration changed them). */
export async function reloadOrganisation(): Promise<void> {
  const [c, d] = await Promise.all([api.categories(), api.departments()])
  reference.categories = c.items
  reference.departments = d.items
}

let geometry: Promise<Region[]> | undefined
/** Regions with their GeoJSON geometry (for maps; fetched on first use). */
export function regionsWithGeometry(): Promise<Region[]> {
  geometry ??= api.regions({ geometry: true }).then((r) => r.items)
  return geometry
}

export function category(id: number | null | undefined): Category | undefined {
  return id == null ? undefined : reference.categories.find((c) => c.id === id)
}

export function categoryName(id: number | null | undefined): string {
  const c = category(id)
  if (!c) return ''
  const parent = category(c.parent_id)
  return parent ? `${localName(parent)} / ${localName(c)}` : localName(c)
}

export function department(id: number | null | undefined): Department | undefined {
  return id == null ? undefined : reference.departments.find((d) => d.id === id)
}

export function departmentName(id: number | null | undefined): string {
  return localName(department(id)) || (id == null ? '' : `#${id}`)
}

export function region(code: string | null | undefined): Region | undefined {
  return code ? reference.regions.find((r) => r.code === code) : undefined
}

export function regionName(code: string | null | undefined): string {
  return localName(region(code)) || code || ''
}
