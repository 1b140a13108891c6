/** The regulation's words for the states the API answers as codes. */
export const VERIFY_STATE: Record<string, { text: string; color: string }> = {
  entered: { text: '待核对', color: 'gold' },
  verified: { text: '已核对', color: 'green' },
  returned: { text: '已退回', color: 'red' },
}

export const PROCESSING: Record<string, string> = { '1': '已申请', '3': '已批准', '4': '未批准', '5': '已办理', '6': '已撤回' }

export const STUDENT_STATE: Record<string, string> = {
  in_school: '在校',
  suspended: '休学',
  stopped: '停学',
  transferred_out: '转出',
  graduated: '毕业',
  withdrawn: '退学',
  expelled: '开除',
  deceased: '死亡',
}

export const TABLE_NAMES: Record<string, string> = {
  students: '学生',
  schools: '学校',
  school_classes: '班级',
  student_status_changes: '学籍异动',
  child_status_changes: '幼儿异动',
}

export const DEADLINE_STATE: Record<string, { text: string; color: string }> = {
  none: { text: '未录入', color: 'default' },
  open: { text: '未完成', color: 'blue' },
  done: { text: '已全部核对', color: 'green' },
  overdue: { text: '逾期未核对', color: 'red' },
}
